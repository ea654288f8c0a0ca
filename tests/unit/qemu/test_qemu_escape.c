/* qemu_escape_value and shell_quote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "qemu/qemu_escape.h"

static void assert_escape(const char *in, const char *expected)
{
        char *out = qemu_escape_value(in);
        assert_non_null(out);
        assert_string_equal(out, expected);
        free(out);
}

static void assert_quote(const char *in, const char *expected)
{
        char *out = shell_quote(in);
        assert_non_null(out);
        assert_string_equal(out, expected);
        free(out);
}

static void test_escape_doubles_every_comma(void **state)
{
        (void)state;
        assert_escape("/x,readonly=off", "/x,,readonly=off");
        assert_escape(",,", ",,,,");
        assert_escape("a,b,c", "a,,b,,c");
}

static void test_escape_leaves_other_characters_alone(void **state)
{
        (void)state;
        assert_escape("", "");
        assert_escape("/var/lib/my disk='x'=\"y\"\n", "/var/lib/my disk='x'=\"y\"\n");
}

static void test_shell_quote_leaves_plain_words_bare(void **state)
{
        (void)state;
        assert_quote("-device", "-device");
        assert_quote("virtio-blk-pci,drive=disk-os,bootindex=1",
                     "virtio-blk-pci,drive=disk-os,bootindex=1");
        assert_quote("/usr/bin/qemu-system-x86_64", "/usr/bin/qemu-system-x86_64");
}

static void test_shell_quote_quotes_spaces_and_metacharacters(void **state)
{
        (void)state;
        assert_quote("a b", "'a b'");
        assert_quote("$HOME", "'$HOME'");
        assert_quote("a;b|c&d", "'a;b|c&d'");
        assert_quote("*", "'*'");
        assert_quote("~", "'~'");
}

static void test_shell_quote_empty_is_two_quotes(void **state)
{
        (void)state;
        assert_quote("", "''");
}

static void test_shell_quote_escapes_single_quotes(void **state)
{
        (void)state;
        assert_quote("it's", "'it'\\''s'");
        assert_quote("'", "''\\'''");
}

static void test_shell_quote_keeps_newlines_inside_quotes(void **state)
{
        (void)state;
        assert_quote("a\nb", "'a\nb'");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape_doubles_every_comma),
                cmocka_unit_test(test_escape_leaves_other_characters_alone),
                cmocka_unit_test(test_shell_quote_leaves_plain_words_bare),
                cmocka_unit_test(test_shell_quote_quotes_spaces_and_metacharacters),
                cmocka_unit_test(test_shell_quote_empty_is_two_quotes),
                cmocka_unit_test(test_shell_quote_escapes_single_quotes),
                cmocka_unit_test(test_shell_quote_keeps_newlines_inside_quotes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
