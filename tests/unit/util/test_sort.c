/* util/sort.h: vl_cmp_unsigned. */
#include <limits.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/sort.h"

static void test_cmp_unsigned_orders_without_overflow(void **state)
{
        (void)state;
        unsigned a = 0, b = UINT_MAX, c = 7;
        assert_true(vl_cmp_unsigned(&a, &b) < 0);
        assert_true(vl_cmp_unsigned(&b, &a) > 0);
        assert_int_equal(vl_cmp_unsigned(&c, &c), 0);
}

static void test_cmp_unsigned_sorts_cpus_ascending(void **state)
{
        (void)state;
        unsigned cpus[] = {11, 0, UINT_MAX, 6, 1, 6};
        qsort(cpus, 6, sizeof(cpus[0]), vl_cmp_unsigned);
        const unsigned want[] = {0, 1, 6, 6, 11, UINT_MAX};
        assert_memory_equal(cpus, want, sizeof(want));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cmp_unsigned_orders_without_overflow),
                cmocka_unit_test(test_cmp_unsigned_sorts_cpus_ascending),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
