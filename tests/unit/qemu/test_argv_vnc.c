/* VNC on the command line: the address always explicit, password=on when there is a
 * password file, and the password itself never in argv (it goes over QMP). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "argv_helpers.h"

static void test_vnc_on_loopback_is_an_explicit_address_and_no_display_window(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.display = "vnc=:7";
        def.vnc_host = "127.0.0.1";
        def.vnc_display = 7;
        def.vnc_loopback = true;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-vnc", "", 0), "127.0.0.1:7");
        assert_string_equal(flag_value(&argv, "-display", "", 0), "none");
        assert_int_equal(count_values(&argv, "-vnc", ""), 1);
        vl_strv_free(&argv);
}

static void test_vnc_on_ipv6_is_bracketed(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.display = "vnc=::1:2";
        def.vnc_host = "::1";
        def.vnc_display = 2;
        def.vnc_loopback = true;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-vnc", "", 0), "[::1]:2");
        vl_strv_free(&argv);
}

static void test_vnc_with_a_password_file_asks_for_a_password_but_argv_has_none(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.display = "vnc=0.0.0.0:1";
        def.vnc_host = "0.0.0.0";
        def.vnc_display = 1;
        def.vnc_password_file = "/etc/vmlaunch/t.vncpw";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-vnc", "", 0), "0.0.0.0:1,password=on");
        for (size_t i = 0; i < argv.count; i++)
                assert_null(strstr(argv.items[i], "vncpw")); /* not even the file's name */
        vl_strv_free(&argv);
}

static void test_no_vnc_without_a_vnc_display(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.display = "gtk";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_int_equal(index_of(&argv, "-vnc"), -1);
        assert_string_equal(flag_value(&argv, "-display", "", 0), "gtk");
        vl_strv_free(&argv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vnc_on_loopback_is_an_explicit_address_and_no_display_window),
                cmocka_unit_test(test_vnc_on_ipv6_is_bracketed),
                cmocka_unit_test(
                        test_vnc_with_a_password_file_asks_for_a_password_but_argv_has_none),
                cmocka_unit_test(test_no_vnc_without_a_vnc_display),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
