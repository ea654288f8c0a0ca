/* QMP client on json-c: greeting, capabilities, commands matched by id,
 * asynchronous events delivered to a callback, a deadline on every wait.
 *
 * Timeouts are in milliseconds, measured on CLOCK_MONOTONIC; a negative
 * timeout means no deadline. Callbacks run from inside qmp_handshake,
 * qmp_execute and qmp_dispatch: they may call qmp_send, but must not call
 * qmp_execute, qmp_dispatch or qmp_close. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct json_object;
struct qmp_client;

/* Messages larger than this are refused with -EMSGSIZE, so a broken peer cannot
 * make us buffer without end (query-qmp-schema, the largest reply, is ~200 KiB). */
#define QMP_DEFAULT_MAX_MESSAGE_BYTES (64u * 1024 * 1024)

/* Called for every asynchronous event, also for those that arrive while a
 * command waits for its reply. `data` and `timestamp` are borrowed (may be NULL). */
typedef void (*qmp_event_fn)(const char *event, struct json_object *data,
                             struct json_object *timestamp, void *userdata);

/* Called for a reply that no qmp_execute waits for: the reply to a qmp_send, or a
 * late reply to a qmp_execute that timed out. `command` names the command sent;
 * `ret` is its "return" value (borrowed, NULL on error); `error` is NULL on success,
 * else "CLASS: desc". Replies with an id this client never sent are dropped. */
typedef void (*qmp_reply_fn)(const char *command, struct json_object *ret, const char *error,
                             void *userdata);

/* Connects to QEMU's QMP unix socket, retrying until the socket accepts or
 * timeout_ms passes (-ETIMEDOUT). When watch_pidfd >= 0 and it becomes readable
 * (QEMU exited), gives up at once with -ESRCH. Does not read the greeting. */
int qmp_connect(const char *socket_path, int watch_pidfd, int timeout_ms, struct qmp_client **out,
                struct vl_error *err);

/* Wraps an already connected stream socket (takes ownership of fd, also on
 * failure). The socket is switched to non-blocking mode. */
int qmp_client_new(int fd, struct qmp_client **out, struct vl_error *err);

void qmp_set_event_handler(struct qmp_client *c, qmp_event_fn fn, void *userdata);

/* Optional; without it, replies nobody waits for are consumed silently. */
void qmp_set_reply_handler(struct qmp_client *c, qmp_reply_fn fn, void *userdata);

/* Changes the message size cap (default QMP_DEFAULT_MAX_MESSAGE_BYTES). */
void qmp_set_max_message_bytes(struct qmp_client *c, size_t max_bytes);

/* Reads the greeting and negotiates capabilities, both within timeout_ms.
 * A first message that is not a greeting is -EPROTO. */
int qmp_handshake(struct qmp_client *c, int timeout_ms, struct vl_error *err);

/* QEMU's version from the greeting as major*10000 + minor*100 + micro, 0 before it. */
unsigned qmp_qemu_version(const struct qmp_client *c);

/* Runs one command and waits for its reply. args is borrowed and may be NULL.
 * On success *ret (when not NULL) holds the "return" value, owned by the caller
 * (release with json_object_put).
 * An {"error": ...} reply returns -EREMOTEIO with "CLASS: desc" in err;
 * a closed peer -EPIPE; a missed deadline -ETIMEDOUT (the late reply then goes to
 * the reply handler); input that is not QMP JSON -EPROTO; an oversized
 * message -EMSGSIZE. After -EPIPE, -EPROTO or -EMSGSIZE the client is unusable and
 * every further call fails the same way. */
int qmp_execute(struct qmp_client *c, const char *command, struct json_object *args, int timeout_ms,
                struct json_object **ret, struct vl_error *err);

/* Sends a command without waiting; its reply is consumed later by qmp_dispatch
 * (for a poll loop that must not block, e.g. system_powerdown) and passed to the
 * reply handler when one is set. Gives up with -ETIMEDOUT if QEMU does not read
 * its socket for QMP_SEND_TIMEOUT_MS. */
#define QMP_SEND_TIMEOUT_MS 1000
int qmp_send(struct qmp_client *c, const char *command, struct json_object *args,
             struct vl_error *err);

/* The socket, for a poll loop (POLLIN). */
int qmp_fd(const struct qmp_client *c);

/* Reads what is available without blocking and delivers events (and replies to
 * the reply handler). Returns 0, or -EPIPE when the peer closed (after delivering
 * everything it sent before closing), or -EPROTO/-EMSGSIZE on a broken stream. */
int qmp_dispatch(struct qmp_client *c, struct vl_error *err);

/* Closes the socket and frees the client; NULL is allowed. */
void qmp_close(struct qmp_client *c);
