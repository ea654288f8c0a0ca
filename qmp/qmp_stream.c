#include "qmp/qmp_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* QMP replies nest a few levels (query-qmp-schema ~6); leave headroom. */
#define QMP_JSON_MAX_DEPTH 64

int64_t qmp_deadline_after_ms(int timeout_ms)
{
        if (timeout_ms < 0)
                return QMP_NO_DEADLINE;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + (int64_t)timeout_ms * 1000000;
}

int qmp_deadline_poll_ms(int64_t deadline_ns)
{
        if (deadline_ns == QMP_NO_DEADLINE)
                return -1;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left_ns = deadline_ns - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
        if (left_ns <= 0)
                return 0;
        int64_t left_ms = (left_ns + 999999) / 1000000;
        return left_ms > INT32_MAX ? INT32_MAX : (int)left_ms;
}

/* Marks the stream unusable, remembering why, so later calls fail the same way. */
static int __attribute__((format(printf, 4, 5)))
stream_fail(struct qmp_stream *s, struct vl_error *err, int errnum, const char *fmt, ...)
{
        char msg[sizeof(s->failure.msg)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        s->failed = vl_error_set(&s->failure, errnum, "%s", msg);
        if (err)
                *err = s->failure;
        return s->failed;
}

static int stream_failed(const struct qmp_stream *s, struct vl_error *err)
{
        if (err)
                *err = s->failure;
        return s->failed;
}

int qmp_stream_init(struct qmp_stream *s, int fd, size_t max_message_bytes, struct vl_error *err)
{
        *s = (struct qmp_stream){.fd = fd, .max_message_bytes = max_message_bytes};
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                int r = vl_error_set(err, errno, "QMP: make socket non-blocking");
                qmp_stream_done(s);
                return r;
        }
        s->tok = json_tokener_new_ex(QMP_JSON_MAX_DEPTH);
        if (!s->tok) {
                qmp_stream_done(s);
                return vl_error_set(err, ENOMEM, "QMP: create JSON parser");
        }
        /* Strict: garbage is an error rather than something json-c guesses at.
         * Trailing chars: the next message may follow in the same buffer. */
        json_tokener_set_flags(s->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
        return 0;
}

void qmp_stream_done(struct qmp_stream *s)
{
        if (s->tok)
                json_tokener_free(s->tok);
        s->tok = NULL;
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -1;
}

static bool is_json_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int qmp_stream_next_buffered(struct qmp_stream *s, struct json_object **out, struct vl_error *err)
{
        if (s->failed)
                return stream_failed(s, err);
        while (s->buf_start < s->buf_end) {
                /* Skip the "\r\n" between messages ourselves, so message_bytes tells
                 * whether the peer stopped in the middle of one. */
                if (s->message_bytes == 0 && is_json_space(s->buf[s->buf_start])) {
                        s->buf_start++;
                        continue;
                }
                size_t avail = s->buf_end - s->buf_start;
                struct json_object *obj =
                        json_tokener_parse_ex(s->tok, s->buf + s->buf_start, (int)avail);
                enum json_tokener_error jerr = json_tokener_get_error(s->tok);
                size_t used = json_tokener_get_parse_end(s->tok);
                s->buf_start += used;
                s->message_bytes += used;
                if (jerr == json_tokener_success) {
                        if (s->message_bytes > s->max_message_bytes) {
                                json_object_put(obj);
                                return stream_fail(s, err, EMSGSIZE,
                                                   "QMP: a message from QEMU exceeds %zu bytes",
                                                   s->max_message_bytes);
                        }
                        s->message_bytes = 0;
                        if (!json_object_is_type(obj, json_type_object)) {
                                enum json_type type = json_object_get_type(obj);
                                json_object_put(obj);
                                return stream_fail(s, err, EPROTO,
                                                   "QMP: expected a JSON object from QEMU, got %s",
                                                   json_type_to_name(type));
                        }
                        *out = obj;
                        return 1;
                }
                if (jerr != json_tokener_continue)
                        return stream_fail(
                                s, err, EPROTO,
                                "QMP: QEMU sent invalid JSON (%s) at byte %zu of a message",
                                json_tokener_error_desc(jerr), s->message_bytes);
                if (s->message_bytes > s->max_message_bytes)
                        return stream_fail(s, err, EMSGSIZE,
                                           "QMP: a message from QEMU exceeds %zu bytes",
                                           s->max_message_bytes);
        }
        s->buf_start = s->buf_end = 0;
        return 0;
}

/* Waits until fd is ready for `events` or the deadline passes (-ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline_ns)
{
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = events};
                int n = poll(&pfd, 1, qmp_deadline_poll_ms(deadline_ns));
                if (n > 0)
                        return 0;
                if (n == 0)
                        return -ETIMEDOUT;
                if (errno != EINTR)
                        return -errno;
        }
}

int qmp_stream_read_message(struct qmp_stream *s, int64_t deadline_ns, struct json_object **out,
                            struct vl_error *err)
{
        bool got_data = false;
        for (;;) {
                int r = qmp_stream_next_buffered(s, out, err);
                if (r != 0)
                        return r < 0 ? r : 0;

                /* The wait below times out only on an empty socket: a peer that keeps
                 * it readable without finishing a message must not hold us past the
                 * deadline. The first read is always made, so a passed deadline still
                 * takes what is there (qmp_dispatch); the partial message is kept. */
                if (got_data && qmp_deadline_poll_ms(deadline_ns) == 0)
                        return vl_error_set(err, ETIMEDOUT, "QMP: no message from QEMU in time");
                ssize_t n = recv(s->fd, s->buf, sizeof(s->buf), 0);
                if (n > 0) {
                        s->buf_start = 0;
                        s->buf_end = (size_t)n;
                        got_data = true;
                        continue;
                }
                if (n == 0)
                        return stream_fail(
                                s, err, EPIPE,
                                s->message_bytes
                                        ? "QMP: QEMU closed the socket in the middle of a message"
                                        : "QMP: QEMU closed the socket");
                if (errno == EINTR)
                        continue;
                if (errno == ECONNRESET)
                        return stream_fail(s, err, EPIPE, "QMP: QEMU reset the connection");
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return stream_fail(s, err, errno, "QMP: read from socket");

                r = wait_fd(s->fd, POLLIN, deadline_ns);
                if (r == -ETIMEDOUT)
                        return vl_error_set(err, ETIMEDOUT, "QMP: no message from QEMU in time");
                if (r < 0)
                        return stream_fail(s, err, -r, "QMP: wait for socket");
        }
}

int qmp_stream_write(struct qmp_stream *s, const char *data, size_t len, int64_t deadline_ns,
                     struct vl_error *err)
{
        if (s->failed)
                return stream_failed(s, err);
        size_t off = 0;
        while (off < len) {
                /* MSG_NOSIGNAL: a QEMU that died must be an -EPIPE, not a SIGPIPE. */
                ssize_t n = send(s->fd, data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n >= 0) {
                        off += (size_t)n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EPIPE || errno == ECONNRESET)
                        return stream_fail(s, err, EPIPE, "QMP: QEMU closed the socket");
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return stream_fail(s, err, errno, "QMP: write to socket");

                int r = wait_fd(s->fd, POLLOUT, deadline_ns);
                if (r == -ETIMEDOUT && off == 0)
                        return vl_error_set(err, ETIMEDOUT, "QMP: QEMU does not read its socket");
                /* Half a command is on the wire: nothing sent later can be parsed. */
                if (r == -ETIMEDOUT)
                        return stream_fail(s, err, ETIMEDOUT,
                                           "QMP: QEMU stopped reading in the middle of a command");
                if (r < 0)
                        return stream_fail(s, err, -r, "QMP: wait for socket");
        }
        return 0;
}
