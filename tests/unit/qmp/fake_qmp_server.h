/* A fake QEMU for QMP tests: plays a script over a socket (write these bytes, expect
 * that command, close) in its own thread. Failures are recorded as text, not asserted,
 * because cmocka may only be used from the test's own thread. */
#pragma once

#include <pthread.h>
#include <stddef.h>

enum fake_step_kind {
        FAKE_SEND,           /* write text; "$ID" becomes the id of the last command */
        FAKE_SEND_BYTEWISE,  /* the same, one byte per write */
        FAKE_EXPECT,         /* read one command; its "execute" must be text */
        FAKE_AWAIT_GO,       /* block until the test calls fake_server_go() */
        FAKE_CLOSE,          /* close the socket now */
        FAKE_WAIT_FOR_CLOSE, /* read until the client closes its end */
};

struct fake_step {
        enum fake_step_kind kind;
        const char *text;
};

#define SEND(t)                                                                                    \
        {                                                                                          \
                FAKE_SEND, (t)                                                                     \
        }
#define SEND_BYTEWISE(t)                                                                           \
        {                                                                                          \
                FAKE_SEND_BYTEWISE, (t)                                                            \
        }
#define EXPECT(t)                                                                                  \
        {                                                                                          \
                FAKE_EXPECT, (t)                                                                   \
        }
#define AWAIT_GO                                                                                   \
        {                                                                                          \
                FAKE_AWAIT_GO, NULL                                                                \
        }
#define CLOSE                                                                                      \
        {                                                                                          \
                FAKE_CLOSE, NULL                                                                   \
        }
#define WAIT_FOR_CLOSE                                                                             \
        {                                                                                          \
                FAKE_WAIT_FOR_CLOSE, NULL                                                          \
        }

#define FAKE_GREETING                                                                              \
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 7}, "          \
        "\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define FAKE_EMPTY_REPLY "{\"return\": {}, \"id\": $ID}\r\n"

/* The steps of a handshake, to start a script with. */
#define HANDSHAKE SEND(FAKE_GREETING), EXPECT("qmp_capabilities"), SEND(FAKE_EMPTY_REPLY)

#define FAKE_MAX_COMMANDS 16

struct fake_server {
        int fd;
        int go_pipe[2];
        pthread_t thread;
        const struct fake_step *steps;
        size_t n_steps;
        char last_id[64];
        char commands[FAKE_MAX_COMMANDS][1024]; /* every command received, as JSON text */
        size_t n_commands;
        char failure[512]; /* empty when the script played as written */
};

/* Creates a socketpair, starts playing steps on one end in a thread and returns
 * the other end in *client_fd. Steps must outlive fake_server_finish(). */
void fake_server_start(struct fake_server *srv, const struct fake_step *steps, size_t n_steps,
                       int *client_fd);

/* Plays steps on fd in a thread (fd is owned and closed by the server). */
void fake_server_start_on_fd(struct fake_server *srv, int fd, const struct fake_step *steps,
                             size_t n_steps);

/* Lets a FAKE_AWAIT_GO step proceed. */
void fake_server_go(struct fake_server *srv);

/* Waits for the script to end; returns NULL if it played as written, else why not.
 * commands[] stay readable afterwards. */
const char *fake_server_finish(struct fake_server *srv);

#define START_FAKE(srv, steps, client_fd)                                                          \
        fake_server_start((srv), (steps), sizeof(steps) / sizeof((steps)[0]), (client_fd))
