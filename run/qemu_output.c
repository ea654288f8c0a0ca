#include "run/qemu_output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "run/runlog.h"

/* Length of the valid, printable UTF-8 character at s (n bytes left), 0 when it is
 * not one: a C1 control (U+0080-U+009F: 0x9b is CSI on some terminals), an overlong
 * form, a surrogate or a truncated sequence. */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
        size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
        if (s[0] < 0xc2 || s[0] > 0xf4 || n < len)
                return 0;
        for (size_t i = 1; i < len; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        if ((s[0] == 0xc2 && s[1] < 0xa0) || (s[0] == 0xe0 && s[1] < 0xa0) ||
            (s[0] == 0xed && s[1] > 0x9f) || (s[0] == 0xf0 && s[1] < 0x90) ||
            (s[0] == 0xf4 && s[1] > 0x8f))
                return 0;
        return len;
}

/* Length of the whole ECMA-48 control sequence (ESC [, parameter bytes 0x30-0x3f,
 * intermediate bytes 0x20-0x2f, one final byte 0x40-0x7e) at s, 0 when there is none. */
static size_t csi_len(const unsigned char *s, size_t n)
{
        if (n < 3 || s[0] != 0x1b || s[1] != '[')
                return 0;
        size_t i = 2;
        while (i < n && s[i] >= 0x30 && s[i] <= 0x3f)
                i++;
        while (i < n && s[i] >= 0x20 && s[i] <= 0x2f)
                i++;
        return i < n && s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : 0;
}

/* The guest writes what it likes to its serial console and QEMU passes it on: ESC
 * sequences could clear the user's terminal and a \r could return to the start of the
 * line and overwrite "qemu: " with a forged vmlaunch line. Whole control sequences
 * (the firmware's screen clears and colours, a shell's cursor queries) carry no text
 * and are left out; other control characters (but tab) and bytes that are not UTF-8
 * become a visible \xNN; UTF-8 text stays. */
static void escape_line(const char *in, size_t n, char *out, size_t out_len)
{
        const unsigned char *s = (const unsigned char *)in;
        size_t used = 0;
        for (size_t i = 0; i < n && used + 5 <= out_len;) {
                size_t len = s[i] < 0x80 ? 1 : utf8_char_len(s + i, n - i);
                size_t csi = csi_len(s + i, n - i);
                if (csi) {
                        i += csi;
                } else if (len == 1 && (s[i] >= 0x20 || s[i] == '\t') && s[i] != 0x7f) {
                        out[used++] = (char)s[i++];
                } else if (len > 1) {
                        memcpy(out + used, s + i, len);
                        used += len, i += len;
                } else {
                        used += (size_t)snprintf(out + used, out_len - used, "\\x%02x", s[i++]);
                }
        }
        out[used] = '\0';
}

static void emit_line(struct qemu_output *o, enum qemu_stream stream, const char *raw,
                      size_t raw_len)
{
        char line[QEMU_OUTPUT_LINE_MAX * 4 + 1];
        escape_line(raw, raw_len, line, sizeof(line));
        runlog(stream == QEMU_STDERR ? LOG_NOTICE : LOG_INFO, "qemu: %s", line);
        if (stream != QEMU_STDERR)
                return;
        char *slot = o->tail[o->tail_count % QEMU_OUTPUT_TAIL_LINES];
        size_t n = strnlen(line, QEMU_OUTPUT_LINE_MAX - 1); /* a long line's start */
        memcpy(slot, line, n);
        slot[n] = '\0';
        o->tail_count++;
}

/* A line ends at \n; a \r right before it is part of the line ending (the guest's
 * serial console writes \r\n), any other \r is shown. */
static void flush_partial(struct qemu_output *o, enum qemu_stream stream)
{
        size_t n = o->partial[stream].len;
        if (n && o->partial[stream].buf[n - 1] == '\r')
                n--;
        if (n)
                emit_line(o, stream, o->partial[stream].buf, n);
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
