#include "run/guest_agent.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "run/runlog.h"
#include "util/macro.h"

#define NO_DEADLINE (-1LL)
#define QUEUE_MAX   32

enum agent_state {
        AGENT_CLOSED,  /* the guest has not opened its port */
        AGENT_SYNCING, /* guest-sync-delimited sent: skipping to its 0xFF */
        AGENT_PINGING, /* synced; guest-ping sent */
        AGENT_UP,      /* answering; commands[0] is in flight when busy */
};

struct command {
        unsigned long client;
        char *text; /* the command line as sent */
        int timeout_ms;
        bool no_reply; /* answered once sent */
};

struct guest_agent {
        int fd;
        struct guest_agent_ops ops;
        enum agent_state state;
        bool port_open;
        bool delimited; /* the sync's 0xFF was seen: JSON follows */
        long long sync_id;
        int sync_timeout_ms;
        long long deadline_ms;
        struct json_tokener *tok;
        size_t message_bytes;
        struct command queue[QUEUE_MAX];
        size_t n_queued;
        bool busy; /* queue[0] sent, its reply awaited */
        char *out;
        size_t out_len;
};

static void reply_error(struct guest_agent *a, unsigned long client, const char *why)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(why));
        a->ops.reply(a->ops.userdata, client,
                     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
}

/* Queues bytes for the agent and writes what the socket takes now. */
static int send_text(struct guest_agent *a, const char *text)
{
        size_t len = strlen(text);
        char *out = realloc(a->out, a->out_len + len);
        if (!out)
                return -ENOMEM;
        a->out = out;
        memcpy(a->out + a->out_len, text, len);
        a->out_len += len;
        while (a->out_len) {
                ssize_t n = send(a->fd, a->out, a->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return 0;
                if (n < 0)
                        return -errno;
                memmove(a->out, a->out + n, a->out_len - (size_t)n);
                a->out_len -= (size_t)n;
        }
        return 0;
}

static void set_down(struct guest_agent *a)
{
        bool was_up = a->state == AGENT_UP;
        a->state = AGENT_CLOSED;
        a->deadline_ms = NO_DEADLINE;
        a->busy = false;
        for (size_t i = 0; i < a->n_queued; i++) {
                reply_error(a, a->queue[i].client, "the guest agent went away");
                free(a->queue[i].text);
        }
        a->n_queued = 0;
        if (was_up)
                a->ops.down(a->ops.userdata);
}

/* A fresh sync: whatever is in the channel before its 0xFF is dropped. */
static void start_sync(struct guest_agent *a, long long now_ms)
{
        char text[128];
        a->sync_id = (now_ms ^ (long long)getpid() << 20) & 0x7fffffff;
        snprintf(text, sizeof(text),
                 "\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":%lld}}\n",
                 a->sync_id);
        json_tokener_reset(a->tok);
        a->message_bytes = 0;
        a->delimited = false;
        a->state = AGENT_SYNCING;
        a->deadline_ms = now_ms + a->sync_timeout_ms;
        if (send_text(a, text) < 0)
                runlog(LOG_WARNING, "guest agent: cannot write to its port: %s", strerror(errno));
}

static void send_next(struct guest_agent *a, long long now_ms)
{
        if (a->state != AGENT_UP || a->busy || !a->n_queued)
                return;
        struct command *c = &a->queue[0];
        if (send_text(a, c->text) < 0) {
                reply_error(a, c->client, "cannot write to the guest agent's port");
                set_down(a);
                return;
        }
        if (c->no_reply) {
                a->ops.reply(a->ops.userdata, c->client, "{\"return\":{}}");
                free(c->text);
                memmove(a->queue, a->queue + 1, --a->n_queued * sizeof(*a->queue));
                send_next(a, now_ms);
                return;
        }
        a->busy = true;
        a->deadline_ms = now_ms + c->timeout_ms;
}

static bool is_return(struct json_object *msg, struct json_object **ret)
{
        return json_object_is_type(msg, json_type_object) &&
               json_object_object_get_ex(msg, "return", ret);
}

static void on_message(struct guest_agent *a, struct json_object *msg, long long now_ms)
{
        struct json_object *ret = NULL;
        switch (a->state) {
        case AGENT_SYNCING:
                if (is_return(msg, &ret) && json_object_get_int64(ret) == a->sync_id) {
                        a->state = AGENT_PINGING;
                        a->deadline_ms = now_ms + GUEST_AGENT_SYNC_TIMEOUT_MS;
                        (void)send_text(a, "{\"execute\":\"guest-ping\"}\n");
                }
                return; /* anything else is left over from before */
        case AGENT_PINGING:
                if (!is_return(msg, &ret)) {
                        start_sync(a, now_ms);
                        return;
                }
                a->state = AGENT_UP;
                a->sync_timeout_ms = GUEST_AGENT_SYNC_TIMEOUT_MS;
                a->deadline_ms = NO_DEADLINE;
                a->ops.up(a->ops.userdata);
                send_next(a, now_ms);
                return;
        case AGENT_UP:
                if (!a->busy)
                        return; /* nothing was asked: stray output */
                a->ops.reply(a->ops.userdata, a->queue[0].client,
                             json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
                free(a->queue[0].text);
                memmove(a->queue, a->queue + 1, --a->n_queued * sizeof(*a->queue));
                a->busy = false;
                a->deadline_ms = NO_DEADLINE;
                send_next(a, now_ms);
                return;
        case AGENT_CLOSED:
                return;
        }
}

/* Frames the bytes read into JSON objects, after the sync's 0xFF. */
static void feed(struct guest_agent *a, const char *buf, size_t len, long long now_ms)
{
        size_t i = 0;
        while (i < len && a->state != AGENT_CLOSED) {
                if (!a->delimited) {
                        const char *ff = memchr(buf + i, 0xff, len - i);
                        if (!ff)
                                return;
                        i = (size_t)(ff - buf) + 1;
                        a->delimited = true;
                        continue;
                }
                if (buf[i] == '\n' || buf[i] == ' ' || buf[i] == '\r') {
                        i++;
                        continue;
                }
                struct json_object *msg = json_tokener_parse_ex(a->tok, buf + i, (int)(len - i));
                enum json_tokener_error jerr = json_tokener_get_error(a->tok);
                size_t used = jerr == json_tokener_continue ? len - i
                                                            : json_tokener_get_parse_end(a->tok);
                i += used;
                a->message_bytes += used;
                if (jerr == json_tokener_continue &&
                    a->message_bytes <= GUEST_AGENT_MAX_MESSAGE_BYTES)
                        return;
                a->message_bytes = 0;
                if (!msg) {
                        runlog(LOG_WARNING,
                               "guest agent: unreadable or oversized reply; syncing again");
                        if (a->busy) {
                                reply_error(a, a->queue[0].client,
                                            "the guest agent's reply was not readable JSON");
                                free(a->queue[0].text);
                                memmove(a->queue, a->queue + 1, --a->n_queued * sizeof(*a->queue));
                                a->busy = false;
                        }
                        start_sync(a, now_ms);
                        return;
                }
                on_message(a, msg, now_ms);
                json_object_put(msg);
        }
}

int guest_agent_open(const char *path, const struct guest_agent_ops *ops,
                     struct guest_agent **agent, struct vl_error *err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(addr.sun_path))
                return vl_error_set(err, ENAMETOOLONG, "guest agent socket %s", path);
        strcpy(addr.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return vl_error_set(err, errno, "guest agent socket");
        /* QEMU listens already: the connection waits in its backlog until accepted. */
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
                int r = vl_error_set(err, errno, "connect to the guest agent's port %s", path);
                close(fd);
                return r;
        }
        struct guest_agent *a = calloc(1, sizeof(*a));
        if (!a || !(a->tok = json_tokener_new())) {
                free(a);
                close(fd);
                return vl_error_set(err, ENOMEM, "guest agent");
        }
        a->fd = fd;
        a->ops = *ops;
        a->state = AGENT_CLOSED;
        a->deadline_ms = NO_DEADLINE;
        a->sync_timeout_ms = GUEST_AGENT_SYNC_TIMEOUT_MS;
        *agent = a;
        return 0;
}

void guest_agent_port_changed(struct guest_agent *a, bool open, long long now_ms)
{
        if (!a || open == a->port_open)
                return;
        a->port_open = open;
        if (!open) {
                set_down(a);
                return;
        }
        a->sync_timeout_ms = GUEST_AGENT_SYNC_TIMEOUT_MS;
        start_sync(a, now_ms);
}

/* Commands that never answer when they work: the guest goes away instead. */
static bool answers_only_on_error(const char *execute)
{
        static const char *const quiet[] = {"guest-shutdown", "guest-suspend-disk",
                                            "guest-suspend-ram", "guest-suspend-hybrid"};
        for (size_t i = 0; i < ELEMENTSOF(quiet); i++)
                if (streq(execute, quiet[i]))
                        return true;
        return false;
}

void guest_agent_request(struct guest_agent *a, unsigned long client, struct json_object *command,
                         int timeout_ms, long long now_ms)
{
        struct json_object *execute = NULL;
        if (!json_object_is_type(command, json_type_object) ||
            !json_object_object_get_ex(command, "execute", &execute) ||
            !json_object_is_type(execute, json_type_string)) {
                reply_error(a, client,
                            "expected a guest agent command such as {\"execute\": \"guest-info\"}");
                return;
        }
        if (a->state != AGENT_UP) {
                reply_error(a, client, "the guest agent is not up");
                return;
        }
        if (a->n_queued == QUEUE_MAX) {
                reply_error(a, client, "too many guest agent commands waiting; try again");
                return;
        }
        const char *json = json_object_to_json_string_ext(command, JSON_C_TO_STRING_PLAIN);
        char *text = malloc(strlen(json) + 2);
        if (!text) {
                reply_error(a, client, "out of memory");
                return;
        }
        sprintf(text, "%s\n", json);
        a->queue[a->n_queued++] = (struct command){
                .client = client,
                .text = text,
                .timeout_ms = timeout_ms > 0 ? timeout_ms : GUEST_AGENT_COMMAND_TIMEOUT_MS,
                .no_reply = answers_only_on_error(json_object_get_string(execute))};
        send_next(a, now_ms);
}

bool guest_agent_shutdown(struct guest_agent *a, long long now_ms)
{
        if (!a || a->state != AGENT_UP)
                return false;
        /* Straight out, ahead of anything queued: the guest is going away. */
        if (send_text(a,
                      "{\"execute\":\"guest-shutdown\",\"arguments\":{\"mode\":\"powerdown\"}}\n") <
            0)
                return false;
        (void)now_ms;
        runlog(LOG_NOTICE, "asked the guest agent to shut the guest down");
        return true;
}

bool guest_agent_is_up(const struct guest_agent *a)
{
        return a && a->state == AGENT_UP;
}

size_t guest_agent_pollfds(const struct guest_agent *a, struct pollfd *fds, size_t max)
{
        if (!a || a->fd < 0 || !max)
                return 0;
        fds[0] = (struct pollfd){.fd = a->fd, .events = POLLIN | (a->out_len ? POLLOUT : 0)};
        return 1;
}

static void read_agent(struct guest_agent *a, long long now_ms)
{
        for (;;) {
                char buf[65536];
                ssize_t n = recv(a->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n <= 0) {
                        /* QEMU closed its end: it is exiting */
                        set_down(a);
                        close(a->fd);
                        a->fd = -1;
                        return;
                }
                feed(a, buf, (size_t)n, now_ms);
        }
}

void guest_agent_dispatch(struct guest_agent *a, const struct pollfd *fds, size_t n,
                          long long now_ms)
{
        if (!a)
                return;
        if (n && fds[0].revents & POLLOUT)
                (void)send_text(a, "");
        if (n && fds[0].revents & (POLLIN | POLLHUP | POLLERR))
                read_agent(a, now_ms);
        if (a->deadline_ms == NO_DEADLINE || now_ms < a->deadline_ms)
                return;
        if (a->state == AGENT_UP && a->busy) {
                reply_error(a, a->queue[0].client, "the guest agent did not answer in time");
                free(a->queue[0].text);
                memmove(a->queue, a->queue + 1, --a->n_queued * sizeof(*a->queue));
                a->busy = false;
                /* its late answer must not be taken for the next one's */
                start_sync(a, now_ms);
                return;
        }
        if (a->state == AGENT_SYNCING || a->state == AGENT_PINGING) {
                if (a->sync_timeout_ms < GUEST_AGENT_SYNC_TIMEOUT_MAX_MS)
                        a->sync_timeout_ms *= 2;
                start_sync(a, now_ms);
        }
}

long long guest_agent_deadline_ms(const struct guest_agent *a)
{
        return a ? a->deadline_ms : NO_DEADLINE;
}

void guest_agent_close(struct guest_agent *a)
{
        if (!a)
                return;
        set_down(a);
        if (a->fd >= 0)
                close(a->fd);
        json_tokener_free(a->tok);
        free(a->out);
        free(a);
}
