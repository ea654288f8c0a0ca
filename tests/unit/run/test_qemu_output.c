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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stderr_lines_are_kept_for_the_failure_message),
                cmocka_unit_test(test_only_the_last_lines_are_kept),
                cmocka_unit_test(test_stdout_is_logged_but_not_kept),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
