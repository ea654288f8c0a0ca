/* Out of memory while setting the defaults is reported as such, never as a
 * definition with NULL where validation expects a string. strdup is wrapped
 * (-Wl,--wrap=strdup) to fail for one chosen default value. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmdefs/vmdef.h"

char *__real_strdup(const char *s);
static const char *fail_for; /* strdup of this value returns NULL */

char *__wrap_strdup(const char *s)
{
        if (fail_for && strcmp(s, fail_for) == 0) {
                errno = ENOMEM;
                return NULL;
        }
        return __real_strdup(s);
}

static const char minimal[] = "[vm]\nname = t\n[memory]\nsize = 1G\nhugepages = off\n";

static int parse_failing_on(const char *value, struct vm_def **def)
{
        struct vmdef_diags diags = {0};
        fail_for = value;
        int r = vmdef_parse_string("t.ini", minimal, sizeof(minimal) - 1, def, &diags);
        fail_for = NULL;
        vmdef_diags_free(&diags);
        return r;
}

static void test_a_failed_default_copy_is_out_of_memory(void **state)
{
        (void)state;
        static const char *const defaults[] = {VMDEF_DEFAULT_QEMU_BINARY, "q35", "none", "host",
                                               "performance"};
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
                struct vm_def *def = (struct vm_def *)1;
                assert_int_equal(parse_failing_on(defaults[i], &def), -ENOMEM);
                assert_null(def);
        }
}

static void test_the_same_definition_loads_with_memory_to_spare(void **state)
{
        (void)state;
        struct vm_def *def = NULL;
        assert_int_equal(parse_failing_on(NULL, &def), 0);
        assert_string_equal(def->qemu_binary, VMDEF_DEFAULT_QEMU_BINARY);
        assert_string_equal(def->governor, "performance");
        vmdef_free(def);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_failed_default_copy_is_out_of_memory),
                cmocka_unit_test(test_the_same_definition_loads_with_memory_to_spare),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
