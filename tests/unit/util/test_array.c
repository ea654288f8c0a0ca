/* util/array.h: growing by doubling. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/array.h"

static void test_array_grow_doubles_so_appends_rarely_reallocate(void **state)
{
        (void)state;
        unsigned *items = NULL;
        size_t cap = 0, count = 0, reallocs = 0;
        for (unsigned i = 0; i < 1000; i++) {
                size_t before = cap;
                assert_int_equal(VL_ARRAY_GROW(items, cap, count), 0);
                assert_true(cap > count);
                if (cap != before)
                        reallocs++;
                items[count++] = i;
        }
        assert_true(reallocs <= 9); /* 4, 8, ..., 1024 */
        for (unsigned i = 0; i < 1000; i++)
                assert_int_equal(items[i], i);
        free(items);
}

static void test_array_grow_handles_an_array_built_without_a_capacity(void **state)
{
        (void)state;
        /* an array of exactly 5 made elsewhere, capacity unknown (0) */
        unsigned *items = calloc(5, sizeof(*items));
        size_t cap = 0;
        assert_non_null(items);
        assert_int_equal(VL_ARRAY_GROW(items, cap, 5), 0);
        assert_true(cap >= 6);
        items[5] = 42; /* ASan would catch a short allocation */
        free(items);
}

static void test_array_grow_refuses_an_overflowing_size(void **state)
{
        (void)state;
        void *items = NULL;
        size_t cap = SIZE_MAX / 4;
        assert_int_equal(vl_array_grow(&items, &cap, SIZE_MAX / 4, 16), -ENOMEM);
        assert_null(items);
        assert_int_equal(cap, SIZE_MAX / 4);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_array_grow_doubles_so_appends_rarely_reallocate),
                cmocka_unit_test(test_array_grow_handles_an_array_built_without_a_capacity),
                cmocka_unit_test(test_array_grow_refuses_an_overflowing_size),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
