/* util/strv.h: pushing and looking up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/strv.h"

static void test_strv_contains_finds_only_whole_strings(void **state)
{
        (void)state;
        struct vl_strv v = {0};
        assert_false(vl_strv_contains(&v, "nvidia"));
        assert_int_equal(vl_strv_push(&v, "nvidia"), 0);
        assert_int_equal(vl_strv_pushf(&v, "snd_%s", "hda_intel"), 0);
        assert_true(vl_strv_contains(&v, "nvidia"));
        assert_true(vl_strv_contains(&v, "snd_hda_intel"));
        assert_false(vl_strv_contains(&v, "nvidia_drm"));
        assert_false(vl_strv_contains(&v, "snd"));
        vl_strv_free(&v);
}

static void test_strv_stays_null_terminated_as_it_grows(void **state)
{
        (void)state;
        struct vl_strv v = {0};
        for (int i = 0; i < 100; i++)
                assert_int_equal(vl_strv_pushf(&v, "%d", i), 0);
        assert_int_equal(v.count, 100);
        assert_null(v.items[100]);
        assert_string_equal(v.items[99], "99");
        vl_strv_free(&v);
        assert_null(v.items);
        assert_int_equal(v.count, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv_contains_finds_only_whole_strings),
                cmocka_unit_test(test_strv_stays_null_terminated_as_it_grows),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
