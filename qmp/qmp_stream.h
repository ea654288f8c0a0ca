/* Private to qmp/: the byte stream of one QMP connection. Non-blocking reads into
 * a buffer framed into JSON objects by an incremental json_tokener, and writes that
 * survive partial sends. Every wait is bounded by a CLOCK_MONOTONIC deadline. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct json_object;
struct json_tokener;

/* No deadline. */
#define QMP_NO_DEADLINE INT64_MAX

/* Deadline timeout_ms from now in CLOCK_MONOTONIC nanoseconds;
 * QMP_NO_DEADLINE for a negative timeout. */
int64_t qmp_deadline_after_ms(int timeout_ms);

/* poll() timeout until the deadline: -1 without one, 0 once passed, otherwise the
 * remaining milliseconds rounded up (so we never wake up just before it). */
int qmp_deadline_poll_ms(int64_t deadline_ns);

#define QMP_STREAM_READ_BYTES 65536

struct qmp_stream {
        int fd;
        struct json_tokener *tok;
        size_t message_bytes; /* fed to tok for the message being parsed */
        size_t max_message_bytes;
        int failed;              /* -errno once the stream is unusable, else 0 */
        struct vl_error failure; /* why it failed */
        size_t buf_start, buf_end;
        char buf[QMP_STREAM_READ_BYTES];
};

/* Takes ownership of fd (also on failure) and makes it non-blocking. */
int qmp_stream_init(struct qmp_stream *s, int fd, size_t max_message_bytes, struct vl_error *err);

/* Closes the fd and frees the tokener. */
void qmp_stream_done(struct qmp_stream *s);

/* Parses what is already buffered, without reading. Returns 1 and a JSON object
 * in *out (owned by the caller), 0 when no complete message is buffered, or
 * -EPROTO/-EMSGSIZE. */
int qmp_stream_next_buffered(struct qmp_stream *s, struct json_object **out, struct vl_error *err);

/* Returns the next message (0 and *out owned by the caller), reading and waiting
 * until deadline_ns. -ETIMEDOUT leaves the stream usable; -EPIPE (peer closed),
 * -EPROTO (not a JSON object), -EMSGSIZE and read errors leave it failed, and
 * every further call returns the same error. */
int qmp_stream_read_message(struct qmp_stream *s, int64_t deadline_ns, struct json_object **out,
                            struct vl_error *err);

/* Writes all of data, waiting for the socket until deadline_ns. A peer that has
 * gone is -EPIPE (no SIGPIPE is raised). */
int qmp_stream_write(struct qmp_stream *s, const char *data, size_t len, int64_t deadline_ns,
                     struct vl_error *err);
