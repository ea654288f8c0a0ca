/* plan_text_command_lines: how `vmlaunch plan` lays the QEMU command line out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/plan_text.h"

/* The lines for argv (NULL-terminated), joined with '\n'. */
static char *layout(const char *const *words)
{
        struct vl_strv argv = {0}, lines = {0};
        for (size_t i = 0; words[i]; i++)
                assert_int_equal(vl_strv_push(&argv, words[i]), 0);
        assert_int_equal(plan_text_command_lines(&argv, &lines), 0);
        size_t len = 1;
        for (size_t i = 0; i < lines.count; i++)
                len += strlen(lines.items[i]) + 1;
        char *out = calloc(1, len);
        assert_non_null(out);
        for (size_t i = 0; i < lines.count; i++) {
                strcat(out, lines.items[i]);
                strcat(out, "\n");
        }
        vl_strv_free(&argv);
        vl_strv_free(&lines);
        return out;
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_an_option_and_its_value_share_a_line(void **state)
{
        (void)state;
        char *got = layout(WORDS("qemu-system-x86_64", "-cpu", "host,kvm=off", "-m", "8G"));
        assert_string_equal(got, "qemu-system-x86_64 \\\n"
                                 "    -cpu host,kvm=off \\\n"
                                 "    -m 8G\n");
        free(got);
}

static void test_a_flag_stands_alone_even_before_a_word(void **state)
{
        (void)state;
        /* -snapshot takes no value: "disk" is an argument of its own (a stray one) */
        char *got = layout(WORDS("qemu", "-S", "-nodefaults", "-snapshot", "disk", "-no-reboot"));
        assert_string_equal(got, "qemu \\\n"
                                 "    -S \\\n"
                                 "    -nodefaults \\\n"
                                 "    -snapshot \\\n"
                                 "    disk \\\n"
                                 "    -no-reboot\n");
        free(got);
}

static void test_an_unknown_option_before_another_option_stands_alone(void **state)
{
        (void)state;
        char *got = layout(WORDS("qemu", "-some-new-flag", "-m", "1G"));
        assert_string_equal(got, "qemu \\\n"
                                 "    -some-new-flag \\\n"
                                 "    -m 1G\n");
        free(got);
}

static void test_a_value_starting_with_a_dash_stays_with_its_option(void **state)
{
        (void)state;
        char *got = layout(WORDS("qemu", "-append", "-x quiet", "-rtc", "-1"));
        assert_string_equal(got, "qemu \\\n"
                                 "    -append '-x quiet' \\\n"
                                 "    -rtc -1\n");
        free(got);
}

static void test_every_word_is_quoted_on_its_own(void **state)
{
        (void)state;
        char *got = layout(WORDS("/opt/my qemu", "-fw_cfg", "string=it's $HOME", "-name", ""));
        assert_string_equal(got, "'/opt/my qemu' \\\n"
                                 "    -fw_cfg 'string=it'\\''s $HOME' \\\n"
                                 "    -name ''\n");
        free(got);
}

static void test_a_command_that_reads_as_an_assignment_is_quoted(void **state)
{
        (void)state;
        char *got = layout(WORDS("a=b", "-S"));
        assert_string_equal(got, "'a=b' \\\n"
                                 "    -S\n");
        free(got);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_an_option_and_its_value_share_a_line),
                cmocka_unit_test(test_a_flag_stands_alone_even_before_a_word),
                cmocka_unit_test(test_an_unknown_option_before_another_option_stands_alone),
                cmocka_unit_test(test_a_value_starting_with_a_dash_stays_with_its_option),
                cmocka_unit_test(test_every_word_is_quoted_on_its_own),
                cmocka_unit_test(test_a_command_that_reads_as_an_assignment_is_quoted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
