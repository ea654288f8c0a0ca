#include "run/qemu_output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "run/runlog.h"

static void emit_line(struct qemu_output *o, enum qemu_stream stream, const char *line)
{
        runlog(stream == QEMU_STDERR ? LOG_NOTICE : LOG_INFO, "qemu: %s", line);
        if (stream != QEMU_STDERR)
                return;
        char *slot = o->tail[o->tail_count % QEMU_OUTPUT_TAIL_LINES];
        snprintf(slot, QEMU_OUTPUT_LINE_MAX, "%s", line);
        o->tail_count++;
}

static void flush_partial(struct qemu_output *o, enum qemu_stream stream)
{
        if (!o->partial[stream].len)
                return;
        o->partial[stream].buf[o->partial[stream].len] = '\0';
        emit_line(o, stream, o->partial[stream].buf);
        o->partial[stream].len = 0;
}

/* Splits new bytes into lines; an overlong line is logged in pieces. */
static void add_bytes(struct qemu_output *o, enum qemu_stream stream, const char *data, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char c = data[i];
                if (c == '\n') {
                        flush_partial(o, stream);
                        continue;
                }
                if (c == '\r')
                        continue;
                if (o->partial[stream].len == QEMU_OUTPUT_LINE_MAX - 1)
                        flush_partial(o, stream);
                o->partial[stream].buf[o->partial[stream].len++] = c;
        }
}

int qemu_output_read(struct qemu_output *o, int fd, enum qemu_stream stream)
{
        char data[4096];
        for (;;) {
                ssize_t n = read(fd, data, sizeof(data));
                if (n > 0) {
                        add_bytes(o, stream, data, (size_t)n);
                        continue;
                }
                if (n == 0) {
                        flush_partial(o, stream);
                        return 1;
                }
                if (errno == EINTR)
                        continue;
                return errno == EAGAIN ? 0 : -errno;
        }
}

void qemu_output_drain(struct qemu_output *o, int fd, enum qemu_stream stream)
{
        if (fd >= 0)
                (void)qemu_output_read(o, fd, stream);
        flush_partial(o, stream);
}

void qemu_output_tail(const struct qemu_output *o, char *buf, size_t len)
{
        size_t n = o->tail_count < QEMU_OUTPUT_TAIL_LINES ? o->tail_count : QEMU_OUTPUT_TAIL_LINES;
        size_t used = 0;
        buf[0] = '\0';
        for (size_t i = o->tail_count - n; i < o->tail_count && used < len; i++)
                used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "\n" : "",
                                         o->tail[i % QEMU_OUTPUT_TAIL_LINES]);
}
