/* QMP client on json-c: greeting, capabilities, commands matched by id,
 * asynchronous events delivered to a callback, a deadline on every wait. */
#pragma once

#include <stdbool.h>

#include "util/error.h"

struct json_object;
struct qmp_client;

/* Called for every asynchronous event, also for those that arrive while a
 * command waits for its reply. `data` and `timestamp` are borrowed (may be NULL). */
typedef void (*qmp_event_fn)(const char *event, struct json_object *data,
                             struct json_object *timestamp, void *userdata);

/* Connects to QEMU's QMP unix socket, retrying until the socket accepts or
 * timeout_ms passes. When watch_pidfd >= 0 and it becomes readable (QEMU exited),
 * gives up at once with -ESRCH. Does not read the greeting. */
int qmp_connect(const char *socket_path, int watch_pidfd, int timeout_ms,
                struct qmp_client **out, struct vl_error *err);

/* Wraps an already connected stream socket (takes ownership of fd). */
int qmp_client_new(int fd, struct qmp_client **out, struct vl_error *err);

void qmp_set_event_handler(struct qmp_client *c, qmp_event_fn fn, void *userdata);

/* Reads the greeting and negotiates capabilities. */
int qmp_handshake(struct qmp_client *c, int timeout_ms, struct vl_error *err);

/* QEMU's version from the greeting as major*10000 + minor*100 + micro, 0 before it. */
unsigned qmp_qemu_version(const struct qmp_client *c);

/* Runs one command and waits for its reply. args is borrowed and may be NULL.
 * On success *ret (when not NULL) holds the "return" value, owned by the caller.
 * An {"error": ...} reply returns -EREMOTEIO with "CLASS: desc" in err;
 * a closed peer -EPIPE; a missed deadline -ETIMEDOUT. */
int qmp_execute(struct qmp_client *c, const char *command, struct json_object *args,
                int timeout_ms, struct json_object **ret, struct vl_error *err);

/* Sends a command without waiting; its reply is consumed later by qmp_dispatch
 * (for a poll loop that must not block, e.g. system_powerdown). */
int qmp_send(struct qmp_client *c, const char *command, struct json_object *args,
             struct vl_error *err);

/* The socket, for a poll loop. */
int qmp_fd(const struct qmp_client *c);

/* Reads what is available without blocking and delivers events.
 * Returns 0, or -EPIPE when the peer closed. */
int qmp_dispatch(struct qmp_client *c, struct vl_error *err);

void qmp_close(struct qmp_client *c);
