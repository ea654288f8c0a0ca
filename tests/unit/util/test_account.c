#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "util/account.h"

static void test_root_is_found_with_its_groups(void **state)
{
        (void)state;
        struct vl_account a;
        struct vl_error err = {0};
        assert_int_equal(vl_account_lookup("root", &a, &err), 0);
        assert_int_equal(a.uid, 0);
        assert_int_equal(a.gid, 0);
        assert_true(vl_account_is_root(&a));
        assert_true(a.n_groups >= 1);
        assert_int_equal(a.groups[0], 0);
        vl_account_free(&a);
}

static void test_a_missing_user_says_how_to_create_it(void **state)
{
        (void)state;
        struct vl_account a;
        struct vl_error err = {0};
        assert_int_equal(vl_account_lookup("vl-no-such-user", &a, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "user 'vl-no-such-user'"));
        assert_non_null(strstr(err.msg, "systemd-sysusers"));
        assert_non_null(strstr(err.msg, "[qemu] user"));
        assert_null(a.name);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_root_is_found_with_its_groups),
                cmocka_unit_test(test_a_missing_user_says_how_to_create_it),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
