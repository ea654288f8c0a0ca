/* QEMU's stdout and stderr, forwarded to vmlaunch's log line by line as
 * "qemu: ...", from the supervisor's poll loop; the last stderr lines are kept
 * to explain a QEMU that failed to start. */
#pragma once

#include <stddef.h>

#define QEMU_OUTPUT_TAIL_LINES 8
#define QEMU_OUTPUT_LINE_MAX   1024

enum qemu_stream { QEMU_STDOUT, QEMU_STDERR };

struct qemu_output {
        struct {
                char buf[QEMU_OUTPUT_LINE_MAX];
                size_t len;
        } partial[2];
        char tail[QEMU_OUTPUT_TAIL_LINES][QEMU_OUTPUT_LINE_MAX];
        size_t tail_count; /* lines ever added; the newest is tail[(count-1) % N] */
};

/* Reads what fd has without blocking and logs every complete line. Returns 0
 * when more may come, 1 at end of file, or -errno. */
int qemu_output_read(struct qemu_output *o, int fd, enum qemu_stream stream);

/* Reads fd until end of file or until it would block (QEMU is gone), then logs
 * an unterminated last line. */
void qemu_output_drain(struct qemu_output *o, int fd, enum qemu_stream stream);

/* The last stderr lines, oldest first, joined by "\n"; "" when there were none. */
void qemu_output_tail(const struct qemu_output *o, char *buf, size_t len);
