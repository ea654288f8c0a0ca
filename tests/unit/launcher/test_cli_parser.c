/* vl_cli_next, the getopt_long pass every verb makes, called in-process as tests and
 * verbs do: several parses in one process, options and words in order, `--`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/cli_common.h"

enum { OPT_JSON = VL_CLI_OPT_VERB, OPT_TIMEOUT };

static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        VL_CLI_DEF_LONG_OPTIONS,
        {0},
};

/* Parses args (NULL-terminated, argv[0] first) and writes what came back as
 * "h json timeout=5 word=a end", into out. */
static void parse(const char *shortopts, char **args, char *out, size_t len)
{
        int argc = 0;
        while (args[argc])
                argc++;
        struct vl_cli_parser p = vl_cli_parser("test", argc, args, shortopts, options);
        const char *arg;
        out[0] = '\0';
        for (int opt; (opt = vl_cli_next(&p, &arg));) {
                size_t used = strlen(out);
                switch (opt) {
                case 'h':
                        snprintf(out + used, len - used, "h ");
                        break;
                case OPT_JSON:
                        snprintf(out + used, len - used, "json ");
                        break;
                case OPT_TIMEOUT:
                        snprintf(out + used, len - used, "timeout=%s ", arg ? arg : "(none)");
                        break;
                case VL_CLI_OPT_CONFIG_DIR:
                        snprintf(out + used, len - used, "config-dir=%s ", arg ? arg : "(none)");
                        break;
                case VL_CLI_OPT_ALLOW_UNSAFE_OWNER:
                        snprintf(out + used, len - used, "allow-unsafe-owner ");
                        break;
                case VL_CLI_WORD:
                        snprintf(out + used, len - used, "word=%s ", arg);
                        break;
                case VL_CLI_ERROR:
                        snprintf(out + used, len - used, "error ");
                        return;
                case VL_CLI_END:
                        snprintf(out + used, len - used, "end");
                        return;
                default:
                        fail_msg("unexpected %d", opt);
                }
        }
}

#define ARGS(...) ((char *[]){"test", __VA_ARGS__, NULL})

static void test_options_and_words_come_back_in_the_order_given(void **state)
{
        (void)state;
        char got[256];
        parse("-:h", ARGS("a", "--json", "b", "--timeout", "5", "--timeout=6", "-h"), got,
              sizeof(got));
        assert_string_equal(got, "word=a json word=b timeout=5 timeout=6 h end");
}

static void test_definition_options_share_one_table_fragment(void **state)
{
        (void)state;
        char got[256];
        parse("-:h", ARGS("--config-dir", "/etc/x", "--config-dir=/y", "--allow-unsafe-owner"), got,
              sizeof(got));
        assert_string_equal(got, "config-dir=/etc/x config-dir=/y allow-unsafe-owner end");
}

static void test_unambiguous_abbreviations_are_accepted(void **state)
{
        (void)state;
        char got[256];
        parse("-:h", ARGS("--js", "--conf=/d", "--allow", "--t", "7"), got, sizeof(got));
        assert_string_equal(got, "json config-dir=/d allow-unsafe-owner timeout=7 end");
}

static void test_a_missing_value_comes_back_as_the_option_without_one(void **state)
{
        (void)state;
        char got[256];
        parse("-:h", ARGS("a", "--timeout"), got, sizeof(got));
        assert_string_equal(got, "word=a timeout=(none) end");
}

static void test_words_after_double_dash_may_start_with_a_dash(void **state)
{
        (void)state;
        char got[256];
        parse("-:h", ARGS("--json", "--", "-x", "--json"), got, sizeof(got));
        assert_string_equal(got, "json word=-x word=--json end");
}

static void test_plus_ends_options_at_the_first_word(void **state)
{
        (void)state;
        char got[256];
        parse("+:h", ARGS("-h", "vm", "--json", "-x"), got, sizeof(got));
        assert_string_equal(got, "h word=vm word=--json word=-x end");
}

static void test_unknown_and_misused_options_are_errors(void **state)
{
        (void)state;
        char got[256];
        parse("-:h", ARGS("a", "--bogus"), got, sizeof(got));
        assert_string_equal(got, "word=a error ");
        parse("-:h", ARGS("--json=1"), got, sizeof(got));
        assert_string_equal(got, "error ");
        parse("-:h", ARGS("--json", "-hx"), got, sizeof(got));
        assert_string_equal(got, "json h error ");
}

/* A verb that returned in the middle of "-hx" (after --help) must not leave "x" for
 * the next parse, nor its "+" ordering: glibc starts afresh only from optind = 0. */
static void test_a_parse_starts_afresh_after_an_unfinished_one(void **state)
{
        (void)state;
        char got[256];
        struct vl_cli_parser p = vl_cli_parser("test", 2, ARGS("-hx"), "+:h", options);
        const char *arg;
        assert_int_equal(vl_cli_next(&p, &arg), 'h');
        parse("-:h", ARGS("a", "--json"), got, sizeof(got));
        assert_string_equal(got, "word=a json end");
}

static void test_posixly_correct_does_not_change_the_order(void **state)
{
        (void)state;
        char got[256];
        setenv("POSIXLY_CORRECT", "1", 1);
        parse("-:h", ARGS("vm", "--json"), got, sizeof(got));
        unsetenv("POSIXLY_CORRECT");
        assert_string_equal(got, "word=vm json end");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_options_and_words_come_back_in_the_order_given),
                cmocka_unit_test(test_definition_options_share_one_table_fragment),
                cmocka_unit_test(test_unambiguous_abbreviations_are_accepted),
                cmocka_unit_test(test_a_missing_value_comes_back_as_the_option_without_one),
                cmocka_unit_test(test_words_after_double_dash_may_start_with_a_dash),
                cmocka_unit_test(test_plus_ends_options_at_the_first_word),
                cmocka_unit_test(test_unknown_and_misused_options_are_errors),
                cmocka_unit_test(test_a_parse_starts_afresh_after_an_unfinished_one),
                cmocka_unit_test(test_posixly_correct_does_not_change_the_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
