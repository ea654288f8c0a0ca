/* How the GPU resets (issue 15): what `check` reports and warns for each function, and
 * [gpu] reset_method as a journaled host change. Fixtures: rtx2060-4fn-flr (FLR),
 * navi10-2fn (the AMD reset bug, no vendor-reset), navi10-2fn-vendor-reset (loaded),
 * navi10-2fn-vendor-reset-unloaded, noreset-2fn (no method at all). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hostprep/gpu_reset.h"
#include "hostprep/sysroot.h"
#include "hostprep_defs.h"
#include "hostprep_fixture.h"

#define NAVI  "0000:0c:00.0"
#define AUDIO "0000:0c:00.1"

/* DEF_AMD and DEF_RTX2060 with a reset_method in their [gpu] section */
#define DEF_WITH_RESET(name, gpu, methods)                                                         \
        "[vm]\nname = " name "\n"                                                                  \
        "[memory]\nsize = 1G\nhugepages = 2M\nallocate_hugepages = yes\n"                          \
        "[cpu]\ncores = 2\nthreads = 1\nvcpu_pin = 0-1\nemulator_pin = 2\n"                        \
        "[gpu]\naddress = " gpu "\nreset_method = " methods "\n"                                   \
        "[host]\nstop_units = display-manager.service\n"
#define DEF_AMD_AUTO DEF_WITH_RESET("amd", "0c:00.0", "auto")

static void read_info(const char *addr, struct hostprep_reset_info *info)
{
        assert_int_equal(hostprep_reset_info_read(addr, info), 0);
        assert_true(info->config_ok);
}

static void test_vendor_reset_table_knows_polaris_vega_navi_and_not_nvidia(void **state)
{
        (void)state;
        assert_string_equal(hostprep_vendor_reset_family(0x1002, 0x67df), "AMD Polaris 10");
        assert_string_equal(hostprep_vendor_reset_family(0x1002, 0x687f), "AMD Vega 10");
        assert_string_equal(hostprep_vendor_reset_family(0x1002, 0x731f), "AMD Navi 10");
        assert_string_equal(hostprep_vendor_reset_family(0x1002, 0x7340), "AMD Navi 14");
        assert_string_equal(hostprep_vendor_reset_family(0x1002, 0x7360), "AMD Navi 12");
        assert_null(hostprep_vendor_reset_family(0x1002, 0x73bf)); /* Navi 21 resets fine */
        assert_null(hostprep_vendor_reset_family(0x10de, 0x731f)); /* the ID, not the vendor */
}

static void test_an_flr_capable_nvidia_card_resets_by_flr_without_a_warning(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn-flr", DEF_RTX2060);
        struct hostprep_reset_info info;
        struct hostprep_vendor_reset vr;
        char line[1024];
        read_info("0000:06:00.0", &info);
        hostprep_vendor_reset_read(&vr);
        assert_int_equal(info.vendor, 0x10de);
        assert_true(info.flr);
        assert_string_equal(info.methods, "flr bus");
        assert_null(info.vendor_reset_family);
        hostprep_reset_describe(&info, line, sizeof(line));
        fprintf(stderr, "%s\n", line);
        assert_non_null(strstr(line, "resets it by flr bus"));
        assert_non_null(strstr(line, "FLR advertised"));
        assert_false(hostprep_reset_advice(&info, &vr, NULL, line, sizeof(line)));
        assert_null(hostprep_reset_auto(&info, &vr)); /* auto leaves it alone */
        fixture_teardown(&f);
}

static void test_a_navi10_without_vendor_reset_is_warned_with_the_fix(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "navi10-2fn", DEF_AMD);
        struct hostprep_reset_info info;
        struct hostprep_vendor_reset vr;
        char line[1024];
        read_info(NAVI, &info);
        hostprep_vendor_reset_read(&vr);
        assert_false(vr.installed);
        assert_false(info.flr);
        assert_string_equal(info.vendor_reset_family, "AMD Navi 10");
        assert_true(hostprep_reset_advice(&info, &vr, NULL, line, sizeof(line)));
        fprintf(stderr, "%s\n", line);
        assert_non_null(strstr(line, "vendor-reset is not installed"));
        assert_non_null(strstr(line, "stays") ? strstr(line, "stays") : strstr(line, "keeps"));
        assert_non_null(strstr(line, "reset_method = auto"));
        assert_null(hostprep_reset_auto(&info, &vr));
        /* its audio function is no card vendor-reset knows: nothing to say */
        read_info(AUDIO, &info);
        assert_false(hostprep_reset_advice(&info, &vr, NULL, line, sizeof(line)));
        fixture_teardown(&f);
}

static void test_a_navi10_with_vendor_reset_installed_but_not_loaded_says_modprobe(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "navi10-2fn-vendor-reset-unloaded", DEF_AMD);
        struct hostprep_reset_info info;
        struct hostprep_vendor_reset vr;
        char line[1024];
        read_info(NAVI, &info);
        hostprep_vendor_reset_read(&vr);
        assert_true(vr.installed);
        assert_false(vr.loaded);
        assert_true(hostprep_reset_advice(&info, &vr, "auto", line, sizeof(line)));
        assert_non_null(strstr(line, "modprobe vendor_reset"));
        fixture_teardown(&f);
}

static void test_a_navi10_with_vendor_reset_loaded_needs_auto_and_gets_device_specific(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "navi10-2fn-vendor-reset", DEF_AMD);
        struct hostprep_reset_info info;
        struct hostprep_vendor_reset vr;
        char line[1024];
        read_info(NAVI, &info);
        hostprep_vendor_reset_read(&vr);
        assert_true(vr.loaded);
        /* loaded, but the kernel would still try a bus reset first */
        assert_true(hostprep_reset_advice(&info, &vr, NULL, line, sizeof(line)));
        assert_non_null(strstr(line, "reset_method = auto"));
        assert_false(hostprep_reset_advice(&info, &vr, "auto", line, sizeof(line)));
        assert_string_equal(hostprep_reset_auto(&info, &vr), "device_specific");
        fixture_teardown(&f);
}

static void test_a_card_without_any_reset_is_warned(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "noreset-2fn", DEF_AMD);
        struct hostprep_reset_info info;
        struct hostprep_vendor_reset vr;
        char line[1024];
        read_info(NAVI, &info);
        hostprep_vendor_reset_read(&vr);
        assert_true(info.has_method_file);
        assert_string_equal(info.methods, "");
        assert_true(hostprep_reset_advice(&info, &vr, NULL, line, sizeof(line)));
        assert_non_null(strstr(line, "no reset method"));
        hostprep_reset_describe(&info, line, sizeof(line));
        assert_non_null(strstr(line, "no reset method"));
        fixture_teardown(&f);
}

static char *plan_text(struct fixture *f)
{
        struct hostprep_plan plan;
        struct vl_error err = {0};
        assert_int_equal(hostprep_plan(f->def, &f->opts, &plan, &err), 0);
        char *text = fixture_plan_text(&plan);
        hostprep_plan_free(&plan);
        return text;
}

static void test_reset_method_auto_writes_device_specific_for_the_run_and_puts_it_back(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "navi10-2fn-vendor-reset", DEF_AMD_AUTO);
        char *before = fixture_snapshot(&f);
        char *plan = plan_text(&f);
        assert_non_null(
                strstr(plan, "reset_method: " NAVI " reset_method 'bus' -> 'device_specific'"));
        assert_null(strstr(plan, AUDIO " reset_method"));
        free(plan);
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_int_equal(hostprep_prepare(f.def, &f.opts, &report, &err), 0);
        hostprep_report_free(&report);
        char now[64];
        fixture_read(&f, "/sys/bus/pci/devices/" NAVI "/reset_method", now, sizeof(now));
        assert_string_equal(now, "device_specific");
        fixture_read(&f, "/sys/bus/pci/devices/" AUDIO "/reset_method", now, sizeof(now));
        assert_string_equal(now, "bus");
        assert_int_equal(hostprep_restore(&f.opts, &report, &err), 0);
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        if (strcmp(before, after))
                fixture_print_diff(before, after);
        assert_string_equal(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void test_reset_method_auto_changes_nothing_without_vendor_reset(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "navi10-2fn", DEF_AMD_AUTO);
        char *plan = plan_text(&f);
        assert_null(strstr(plan, "reset_method:"));
        free(plan);
        fixture_teardown(&f);
}

static void test_explicit_reset_methods_go_to_every_function_and_a_failure_rolls_back(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn-flr", DEF_WITH_RESET("win10", "06:00.0", "flr"));
        char *before = fixture_snapshot(&f);
        char *plan = plan_text(&f);
        assert_non_null(strstr(plan, "0000:06:00.0 reset_method 'flr bus' -> 'flr'"));
        assert_non_null(strstr(plan, "0000:06:00.1 reset_method 'flr bus' -> 'flr'"));
        free(plan);
        /* the second change fails: the first is undone */
        f.opts.fail_step = "reset_method:2";
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_int_equal(hostprep_prepare(f.def, &f.opts, &report, &err), -EIO);
        assert_non_null(strstr(err.msg, "reset_method"));
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        if (strcmp(before, after))
                fixture_print_diff(before, after);
        assert_string_equal(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vendor_reset_table_knows_polaris_vega_navi_and_not_nvidia),
                cmocka_unit_test(test_an_flr_capable_nvidia_card_resets_by_flr_without_a_warning),
                cmocka_unit_test(test_a_navi10_without_vendor_reset_is_warned_with_the_fix),
                cmocka_unit_test(
                        test_a_navi10_with_vendor_reset_installed_but_not_loaded_says_modprobe),
                cmocka_unit_test(
                        test_a_navi10_with_vendor_reset_loaded_needs_auto_and_gets_device_specific),
                cmocka_unit_test(test_a_card_without_any_reset_is_warned),
                cmocka_unit_test(
                        test_reset_method_auto_writes_device_specific_for_the_run_and_puts_it_back),
                cmocka_unit_test(test_reset_method_auto_changes_nothing_without_vendor_reset),
                cmocka_unit_test(
                        test_explicit_reset_methods_go_to_every_function_and_a_failure_rolls_back),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
