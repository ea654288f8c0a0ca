/* The firmware on QEMU's command line: SMM and secure pflash only for a build that
 * needs them (firmware_secure, from the chosen descriptor). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "argv_helpers.h"

static void test_a_secure_build_gets_smm_and_secure_pflash(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        opts.firmware_secure = true;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_non_null(strstr(flag_value(&argv, "-machine", "", 0),
                               ",pflash0=ovmf-code,pflash1=ovmf-vars,smm=on"));
        assert_string_equal(flag_value(&argv, "-global", "driver=cfi.pflash01", 0),
                            "driver=cfi.pflash01,property=secure,value=on");
        vl_strv_free(&argv);
}

static void test_a_plain_build_has_neither_smm_nor_secure_pflash(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_null(strstr(flag_value(&argv, "-machine", "", 0), "smm"));
        assert_int_equal(count_values(&argv, "-global", "driver=cfi.pflash01"), 0);
        vl_strv_free(&argv);
}

static void test_seabios_never_gets_smm_or_secure_pflash(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.firmware = VMDEF_FIRMWARE_BIOS;
        struct qemu_argv_opts opts = test_opts();
        opts.firmware_secure = true;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_null(strstr(flag_value(&argv, "-machine", "", 0), "smm"));
        assert_int_equal(count_values(&argv, "-global", "driver=cfi.pflash01"), 0);
        vl_strv_free(&argv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_secure_build_gets_smm_and_secure_pflash),
                cmocka_unit_test(test_a_plain_build_has_neither_smm_nor_secure_pflash),
                cmocka_unit_test(test_seabios_never_gets_smm_or_secure_pflash),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
