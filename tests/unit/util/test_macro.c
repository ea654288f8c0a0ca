/* util/macro.h: ELEMENTSOF and streq. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/macro.h"

static void test_elementsof_counts_array_elements(void **state)
{
        (void)state;
        static const char *const words[] = {"a", "b", "c"};
        struct {
                int x, y;
        } pairs[7];
        assert_int_equal(ELEMENTSOF(words), 3);
        assert_int_equal(ELEMENTSOF(pairs), 7);
}

static void test_streq_is_true_only_for_equal_strings(void **state)
{
        (void)state;
        assert_true(streq("vfio-pci", "vfio-pci"));
        assert_true(streq("", ""));
        assert_false(streq("vfio", "vfio-pci"));
        assert_false(streq("vfio-pci", "vfio"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_elementsof_counts_array_elements),
                cmocka_unit_test(test_streq_is_true_only_for_equal_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
