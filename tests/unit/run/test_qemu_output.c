/* QEMU's output: split into lines, the last stderr lines kept for errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "run/qemu_output.h"

/* Feeds text through a pipe the way QEMU's stderr arrives, then closes it. */
static void feed(struct qemu_output *o, enum qemu_stream stream, const char *text)
{
        int p[2];
        assert_int_equal(pipe2(p, O_NONBLOCK), 0);
        assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
        close(p[1]);
        assert_int_equal(qemu_output_read(o, p[0], stream), 1); /* end of file */
        close(p[0]);
}

static void test_stderr_lines_are_kept_for_the_failure_message(void **state)
{
        (void)state;
        static struct qemu_output o;
        memset(&o, 0, sizeof(o));
        feed(&o, QEMU_STDERR, "first\r\nsecond\nunterminated");
        char tail[4096];
        qemu_output_tail(&o, tail, sizeof(tail));
        assert_string_equal(tail, "first\nsecond\nunterminated");
}

static void test_only_the_last_lines_are_kept(void **state)
{
        (void)state;
        static struct qemu_output o;
        memset(&o, 0, sizeof(o));
        char text[256] = "";
        for (int i = 0; i < QEMU_OUTPUT_TAIL_LINES + 2; i++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "line %d\n", i);
        feed(&o, QEMU_STDERR, text);
        char tail[4096];
        qemu_output_tail(&o, tail, sizeof(tail));
        assert_true(strncmp(tail, "line 2\n", 7) == 0);
        assert_non_null(strstr(tail, "line 9"));
        assert_null(strstr(tail, "line 1\n"));
}

static void test_stdout_is_logged_but_not_kept(void **state)
{
        (void)state;
        static struct qemu_output o;
        memset(&o, 0, sizeof(o));
        feed(&o, QEMU_STDOUT, "hello\n");
        char tail[64];
        qemu_output_tail(&o, tail, sizeof(tail));
        assert_string_equal(tail, "");
}

/* What one feed() writes to vmlaunch's log (stderr), captured. */
static void logged(enum qemu_stream stream, const char *text, char *out, size_t len)
{
        static struct qemu_output o;
        memset(&o, 0, sizeof(o));
        FILE *capture = tmpfile();
        assert_non_null(capture);
        fflush(stderr);
        int saved = dup(2);
        assert_true(saved >= 0);
        assert_int_equal(dup2(fileno(capture), 2), 2);
        feed(&o, stream, text);
        fflush(stderr);
        assert_int_equal(dup2(saved, 2), 2);
        close(saved);
        rewind(capture);
        size_t n = fread(out, 1, len - 1, capture);
        out[n] = '\0';
        fclose(capture);
}

static void test_escape_sequences_from_the_guest_are_shown_not_sent_to_the_terminal(void **state)
{
        (void)state;
        char log[1024];
        /* whole control sequences are left out, as OVMF's clears and colours */
        logged(QEMU_STDOUT, "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[1m\x1b[33mcleared\a\x7f\n", log,
               sizeof(log));
        assert_string_equal(log, "qemu: cleared\\x07\\x7f\n");
        /* anything else with an ESC is shown: an OSC title, a sequence cut short */
        logged(QEMU_STDOUT, "\x1b]0;title\a x \x1b[12\n", log, sizeof(log));
        assert_string_equal(log, "qemu: \\x1b]0;title\\x07 x \\x1b[12\n");
        assert_null(strchr(log, 0x1b));
}

static void test_a_carriage_return_cannot_hide_the_qemu_prefix(void **state)
{
        (void)state;
        char log[1024];
        logged(QEMU_STDERR, "\rerror: forged by the guest\r\nok\r\n", log, sizeof(log));
        assert_string_equal(log, "qemu: \\x0derror: forged by the guest\nqemu: ok\n");
        /* the failure message quotes the escaped line too */
        assert_null(strchr(log, '\r'));
}

static void test_utf8_text_stays_and_other_bytes_are_escaped(void **state)
{
        (void)state;
        char log[1024];
        logged(QEMU_STDOUT, "caf\xc3\xa9 \xe2\x9c\x93\tend \xff \xc2\x9b \xe2\x9c\n", log,
               sizeof(log));
        assert_string_equal(log,
                            "qemu: caf\xc3\xa9 \xe2\x9c\x93\tend \\xff \\xc2\\x9b \\xe2\\x9c\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stderr_lines_are_kept_for_the_failure_message),
                cmocka_unit_test(test_only_the_last_lines_are_kept),
                cmocka_unit_test(test_stdout_is_logged_but_not_kept),
                cmocka_unit_test(
                        test_escape_sequences_from_the_guest_are_shown_not_sent_to_the_terminal),
                cmocka_unit_test(test_a_carriage_return_cannot_hide_the_qemu_prefix),
                cmocka_unit_test(test_utf8_text_stays_and_other_bytes_are_escaped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
