/* QEMU's version: parsing `-version` and refusing a QEMU too old for a definition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "qemu/qemu_compat.h"
#include "run/spawn.h"

static void test_debian_version_line_parses(void **state)
{
        (void)state;
        unsigned v = 0;
        assert_int_equal(
                qemu_version_parse(
                        "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 ...\n",
                        &v),
                0);
        assert_int_equal(v, 70222);
}

static void test_version_without_micro_parses(void **state)
{
        (void)state;
        unsigned v = 0;
        assert_int_equal(qemu_version_parse("QEMU emulator version 8.0\n", &v), 0);
        assert_int_equal(v, 80000);
}

static void test_other_text_is_not_a_version(void **state)
{
        (void)state;
        unsigned v = 0;
        assert_int_equal(qemu_version_parse("bash: qemu: command not found\n", &v), -EINVAL);
}

static void test_old_qemu_is_refused_naming_the_feature(void **state)
{
        (void)state;
        struct vm_def def = {.dies = 1};
        def.hyperv.enabled = true;
        def.hyperv.xmm_input = true;
        struct vl_error err = {0};
        assert_int_equal(qemu_compat_check(&def, 70002, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "[hyperv] xmm_input needs QEMU 7.1 or newer"));
        assert_non_null(strstr(err.msg, "QEMU 7.0.2"));
        assert_int_equal(qemu_compat_check(&def, 70100, &err), 0);
}

static void test_feature_turned_off_needs_no_newer_qemu(void **state)
{
        (void)state;
        struct vm_def def = {.dies = 1};
        def.hyperv.enabled = false;
        def.hyperv.xmm_input = true; /* ignored: Hyper-V is off */
        struct vl_error err = {0};
        assert_int_equal(qemu_compat_check(&def, 60000, &err), 0);
}

static void test_qemu_without_memory_backend_option_is_refused(void **state)
{
        (void)state;
        struct vm_def def = {.dies = 1};
        struct vl_error err = {0};
        assert_int_equal(qemu_compat_check(&def, 40200, &err), -ENOTSUP);
        assert_non_null(strstr(err.msg, "memory-backend"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_debian_version_line_parses),
                cmocka_unit_test(test_version_without_micro_parses),
                cmocka_unit_test(test_other_text_is_not_a_version),
                cmocka_unit_test(test_old_qemu_is_refused_naming_the_feature),
                cmocka_unit_test(test_feature_turned_off_needs_no_newer_qemu),
                cmocka_unit_test(test_qemu_without_memory_backend_option_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
