/* QMP protocol on top of qmp_stream: greeting, capabilities, commands matched by id,
 * events to a callback. Spec: https://www.qemu.org/docs/master/interop/qmp-spec.html */
#include "qmp/qmp.h"
#include "qmp/qmp_stream.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util/cleanup.h"

/* A command sent whose reply nobody waits for; kept to name it in the reply handler. */
struct qmp_unawaited {
        struct qmp_unawaited *next;
        int64_t id;
        char *command;
};

struct qmp_client {
        int64_t next_id;
        unsigned qemu_version;
        qmp_event_fn on_event;
        void *event_userdata;
        qmp_reply_fn on_reply;
        void *reply_userdata;
        struct qmp_unawaited *unawaited;
        struct qmp_stream stream; /* last: it holds the read buffer */
};

/* Messages handled by one qmp_dispatch before it returns to the poll loop. */
#define DISPATCH_MAX_MESSAGES 256

/* No command id is ever negative: "wait for none". */
#define NO_ID (-1)

static void json_putp(struct json_object **obj)
{
        if (*obj)
                json_object_put(*obj);
}
#define _cleanup_json_ _cleanup_(json_putp)

int qmp_client_new(int fd, struct qmp_client **out, struct vl_error *err)
{
        struct qmp_client *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return vl_error_set(err, ENOMEM, "QMP: allocate client");
        }
        int r = qmp_stream_init(&c->stream, fd, QMP_DEFAULT_MAX_MESSAGE_BYTES, err);
        if (r < 0) {
                free(c);
                return r;
        }
        c->next_id = 1;
        *out = c;
        return 0;
}

void qmp_close(struct qmp_client *c)
{
        if (!c)
                return;
        while (c->unawaited) {
                struct qmp_unawaited *u = c->unawaited;
                c->unawaited = u->next;
                free(u->command);
                free(u);
        }
        qmp_stream_done(&c->stream);
        free(c);
}

void qmp_set_event_handler(struct qmp_client *c, qmp_event_fn fn, void *userdata)
{
        c->on_event = fn;
        c->event_userdata = userdata;
}

void qmp_set_reply_handler(struct qmp_client *c, qmp_reply_fn fn, void *userdata)
{
        c->on_reply = fn;
        c->reply_userdata = userdata;
}

void qmp_set_max_message_bytes(struct qmp_client *c, size_t max_bytes)
{
        c->stream.max_message_bytes = max_bytes;
}

unsigned qmp_qemu_version(const struct qmp_client *c)
{
        return c->qemu_version;
}

int qmp_fd(const struct qmp_client *c)
{
        return c->stream.fd;
}

static int remember_unawaited(struct qmp_client *c, int64_t id, const char *command)
{
        struct qmp_unawaited *u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->command = strdup(command);
        if (!u->command) {
                free(u);
                return -ENOMEM;
        }
        u->id = id;
        u->next = c->unawaited;
        c->unawaited = u;
        return 0;
}

/* Unlinks and returns the entry for id, or NULL. */
static struct qmp_unawaited *take_unawaited(struct qmp_client *c, int64_t id)
{
        for (struct qmp_unawaited **p = &c->unawaited; *p; p = &(*p)->next) {
                if ((*p)->id == id) {
                        struct qmp_unawaited *u = *p;
                        *p = u->next;
                        return u;
                }
        }
        return NULL;
}

/* "CLASS: desc" of an {"error": ...} reply into buf. */
static void format_error_reply(struct json_object *error, char *buf, size_t size)
{
        struct json_object *class = NULL, *desc = NULL;
        json_object_object_get_ex(error, "class", &class);
        json_object_object_get_ex(error, "desc", &desc);
        snprintf(buf, size, "%s: %s", class ? json_object_get_string(class) : "UnknownError",
                 desc ? json_object_get_string(desc) : "(no description)");
}

static bool reply_id(struct json_object *msg, int64_t *id)
{
        struct json_object *id_obj;
        if (!json_object_object_get_ex(msg, "id", &id_obj) ||
            !json_object_is_type(id_obj, json_type_int))
                return false;
        *id = json_object_get_int64(id_obj);
        return true;
}

static void deliver_unawaited_reply(struct qmp_client *c, struct json_object *msg)
{
        int64_t id;
        if (!reply_id(msg, &id))
                return;
        struct qmp_unawaited *u = take_unawaited(c, id);
        if (!u)
                return;
        if (c->on_reply) {
                struct json_object *ret = NULL, *error = NULL;
                char error_text[sizeof(((struct vl_error *)0)->msg)];
                json_object_object_get_ex(msg, "return", &ret);
                if (json_object_object_get_ex(msg, "error", &error))
                        format_error_reply(error, error_text, sizeof(error_text));
                c->on_reply(u->command, error ? NULL : ret, error ? error_text : NULL,
                            c->reply_userdata);
        }
        free(u->command);
        free(u);
}

static void deliver_event(struct qmp_client *c, struct json_object *msg, struct json_object *event)
{
        if (!c->on_event)
                return;
        struct json_object *data = NULL, *timestamp = NULL;
        json_object_object_get_ex(msg, "data", &data);
        json_object_object_get_ex(msg, "timestamp", &timestamp);
        c->on_event(json_object_get_string(event), data, timestamp, c->event_userdata);
}

/* Routes one message. Returns true when it is the reply with id wait_id (the caller
 * keeps msg then); everything else is delivered or dropped here. */
static bool route_message(struct qmp_client *c, struct json_object *msg, int64_t wait_id)
{
        struct json_object *event;
        if (json_object_object_get_ex(msg, "event", &event) &&
            json_object_is_type(event, json_type_string)) {
                deliver_event(c, msg, event);
                return false;
        }
        if (!json_object_object_get_ex(msg, "return", NULL) &&
            !json_object_object_get_ex(msg, "error", NULL))
                return false; /* a greeting or a message type newer than us */
        int64_t id;
        if (wait_id != NO_ID && reply_id(msg, &id) && id == wait_id)
                return true;
        deliver_unawaited_reply(c, msg);
        return false;
}

/* Delivers the messages already buffered, without reading. */
static int route_buffered(struct qmp_client *c, struct vl_error *err)
{
        for (;;) {
                _cleanup_json_ struct json_object *msg = NULL;
                int r = qmp_stream_next_buffered(&c->stream, &msg, err);
                if (r <= 0)
                        return r;
                route_message(c, msg, NO_ID);
        }
}

static int send_command(struct qmp_client *c, const char *command, struct json_object *args,
                        int64_t id, int64_t deadline, struct vl_error *err)
{
        if (!command || !*command)
                return vl_error_set(err, EINVAL, "QMP: empty command name");
        _cleanup_json_ struct json_object *msg = json_object_new_object();
        if (!msg || json_object_object_add(msg, "execute", json_object_new_string(command)) < 0 ||
            (args && json_object_object_add(msg, "arguments", json_object_get(args)) < 0) ||
            json_object_object_add(msg, "id", json_object_new_int64(id)) < 0)
                return vl_error_set(err, ENOMEM, "QMP: build command %s", command);
        size_t len;
        const char *text = json_object_to_json_string_length(
                msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        _cleanup_free_ char *line = text ? malloc(len + 1) : NULL;
        if (!line)
                return vl_error_set(err, ENOMEM, "QMP: serialize command %s", command);
        /* QEMU does not need the newline; it keeps a trace readable. One write, so a
         * peer that replies and closes at once never sees half a line. */
        memcpy(line, text, len);
        line[len] = '\n';
        int r = qmp_stream_write(&c->stream, line, len + 1, deadline, err);
        if (r < 0)
                return vl_error_prefix(err, "QMP command '%s'", command);
        return 0;
}

static int reply_to_result(struct json_object *reply, const char *command, struct json_object **ret,
                           struct vl_error *err)
{
        struct json_object *error;
        if (json_object_object_get_ex(reply, "error", &error)) {
                char text[sizeof(((struct vl_error *)0)->msg)];
                format_error_reply(error, text, sizeof(text));
                return vl_error_set_plain(err, EREMOTEIO, "QMP command '%s' failed: %s", command,
                                          text);
        }
        if (ret) {
                struct json_object *value = NULL;
                json_object_object_get_ex(reply, "return", &value);
                *ret = json_object_get(value);
        }
        return 0;
}

static int reply_timed_out(struct qmp_client *c, int64_t id, const char *command,
                           struct vl_error *err)
{
        /* The reply may still come: the reply handler gets it then. */
        if (remember_unawaited(c, id, command) < 0)
                return vl_error_set(err, ENOMEM, "QMP: remember command");
        return vl_error_set(err, ETIMEDOUT, "QMP command '%s': no reply in time", command);
}

static int execute_until(struct qmp_client *c, const char *command, struct json_object *args,
                         int64_t deadline, struct json_object **ret, struct vl_error *err)
{
        int64_t id = c->next_id++;
        int r = send_command(c, command, args, id, deadline, err);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_json_ struct json_object *msg = NULL;
                r = qmp_stream_read_message(&c->stream, deadline, &msg, err);
                if (r == -ETIMEDOUT)
                        return reply_timed_out(c, id, command, err);
                if (r < 0)
                        return vl_error_prefix(err, "QMP command '%s'", command);
                if (!route_message(c, msg, id)) {
                        /* Reads only wait, and so only time out, on an empty socket: a
                         * QEMU that keeps sending events must not hold us past it. */
                        if (qmp_deadline_poll_ms(deadline) == 0)
                                return reply_timed_out(c, id, command, err);
                        continue;
                }
                r = reply_to_result(msg, command, ret, err);
                /* Events that came with the reply would otherwise wait for more input. */
                struct vl_error drain_err;
                route_buffered(c, &drain_err); /* a failure here resurfaces on the next call */
                return r;
        }
}

int qmp_execute(struct qmp_client *c, const char *command, struct json_object *args, int timeout_ms,
                struct json_object **ret, struct vl_error *err)
{
        if (ret)
                *ret = NULL;
        return execute_until(c, command, args, qmp_deadline_after_ms(timeout_ms), ret, err);
}

int qmp_send(struct qmp_client *c, const char *command, struct json_object *args,
             struct vl_error *err)
{
        int64_t id = c->next_id++;
        int r = send_command(c, command, args, id, qmp_deadline_after_ms(QMP_SEND_TIMEOUT_MS), err);
        if (r < 0)
                return r;
        if (remember_unawaited(c, id, command) < 0)
                return vl_error_set(err, ENOMEM, "QMP: remember command");
        return 0;
}

/* {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, ...}, ...}} */
static unsigned greeting_version(struct json_object *qmp)
{
        struct json_object *version, *qemu, *major, *minor, *micro;
        if (!json_object_object_get_ex(qmp, "version", &version) ||
            !json_object_object_get_ex(version, "qemu", &qemu) ||
            !json_object_object_get_ex(qemu, "major", &major) ||
            !json_object_object_get_ex(qemu, "minor", &minor) ||
            !json_object_object_get_ex(qemu, "micro", &micro))
                return 0;
        return (unsigned)json_object_get_int(major) * 10000 +
               (unsigned)json_object_get_int(minor) * 100 + (unsigned)json_object_get_int(micro);
}

int qmp_handshake(struct qmp_client *c, int timeout_ms, struct vl_error *err)
{
        int64_t deadline = qmp_deadline_after_ms(timeout_ms);
        _cleanup_json_ struct json_object *greeting = NULL;
        int r = qmp_stream_read_message(&c->stream, deadline, &greeting, err);
        if (r == -ETIMEDOUT)
                return vl_error_set(
                        err, ETIMEDOUT,
                        "QMP: no greeting from QEMU within %d ms; is the socket a QMP monitor?",
                        timeout_ms);
        if (r < 0)
                return vl_error_prefix(err, "QMP greeting");
        struct json_object *qmp;
        if (!json_object_object_get_ex(greeting, "QMP", &qmp) ||
            !json_object_is_type(qmp, json_type_object))
                return vl_error_set(
                        err, EPROTO, "QMP: the first message is not a QMP greeting: %.200s",
                        json_object_to_json_string_ext(greeting, JSON_C_TO_STRING_PLAIN));
        c->qemu_version = greeting_version(qmp);
        return execute_until(c, "qmp_capabilities", NULL, deadline, NULL, err);
}

int qmp_dispatch(struct qmp_client *c, struct vl_error *err)
{
        int64_t now = qmp_deadline_after_ms(0);
        for (unsigned n = 0;; n++) {
                /* A peer that never stops talking must not starve the caller's poll
                 * loop: leave the rest in the socket, which stays readable. */
                if (n == DISPATCH_MAX_MESSAGES)
                        return route_buffered(c, err);
                _cleanup_json_ struct json_object *msg = NULL;
                struct vl_error read_err;
                int r = qmp_stream_read_message(&c->stream, now, &msg, &read_err);
                if (r == -ETIMEDOUT)
                        return 0; /* nothing more to read now */
                if (r < 0) {
                        if (err)
                                *err = read_err;
                        return r;
                }
                route_message(c, msg, NO_ID);
        }
}
