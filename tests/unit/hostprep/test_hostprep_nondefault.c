/* A host that starts with part of the job already done (rtx2060-4fn-detached-by-hand:
 * the display manager stopped, functions of the GPU unbound, one with its module not
 * loaded, another already on vfio-pci through driver_override): vmlaunch does not
 * "undo" what it did not do. Restore leaves each exactly as it was, not as a default
 * desktop would be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hostprep/sysroot.h"
#include "hostprep_defs.h"
#include "hostprep_fixture.h"

#define TREE "rtx2060-4fn-detached-by-hand"
#define HDMI "0000:06:00.1" /* unbound, snd_hda_intel loaded (onboard audio) */
#define UCSI "0000:06:00.3" /* unbound, i2c_nvidia_gpu not loaded */
#define USBC "0000:06:00.2" /* on vfio-pci, driver_override vfio-pci */

/* The guide's VM with the modules named instead of auto: the whole nvidia stack and
 * the UCSI driver, which this host does not have loaded. */
#define DEF_RTX2060_LISTED                                                                         \
        DEF_RTX2060 "unload_modules = nvidia_drm,nvidia_modeset,nvidia_uvm,nvidia,i2c_nvidia_gpu\n"

static void assert_same_tree(const char *before, const char *after)
{
        if (strcmp(before, after) != 0)
                fixture_print_diff(before, after);
        assert_string_equal(before, after);
}

static void prepare_ok(struct fixture *f)
{
        struct hostprep_report report;
        struct vl_error err = {0};
        int r = hostprep_prepare(f->def, &f->opts, &report, &err);
        if (r < 0)
                fprintf(stderr, "prepare: %s\n", err.msg);
        assert_int_equal(r, 0);
        hostprep_report_free(&report);
}

/* Restores like `vmlaunch restore NAME` in a fresh process (only the runtime dir is
 * shared with the run), which must succeed without a failure reported. */
static void restore_ok(struct fixture *f)
{
        struct hostprep_options fresh = {.run_dir = f->run,
                                         .units = f->opts.units,
                                         .modules = f->opts.modules,
                                         .timeout_ms = 2000};
        struct hostprep_report report;
        struct vl_error err = {0};
        int r = hostprep_restore(&fresh, &report, &err);
        if (r < 0)
                fprintf(stderr, "restore: %s\n", err.msg);
        for (size_t i = 0; i < report.n_failures; i++)
                fprintf(stderr, "  report: %s\n", report.failures[i]);
        assert_int_equal(r, 0);
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
}

static char *plan_text(struct fixture *f)
{
        struct hostprep_plan plan;
        struct vl_error err = {0};
        int r = hostprep_plan(f->def, &f->opts, &plan, &err);
        if (r < 0)
                fprintf(stderr, "plan: %s\n", err.msg);
        assert_int_equal(r, 0);
        char *text = fixture_plan_text(&plan);
        hostprep_plan_free(&plan);
        fprintf(stderr, "%s\n", text);
        return text;
}

static void read_override(const struct fixture *f, const char *addr, char *buf, size_t len)
{
        char path[128];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", addr);
        fixture_read(f, path, buf, len);
}

/* Prepares and restores TREE for ini; the tree after restore must be the one before,
 * byte for byte. check_during runs between the two. */
static void prepare_restore_exactly(struct fixture *f, const char *ini,
                                    void (*check_during)(const struct fixture *f))
{
        fixture_setup(f, TREE, ini);
        char *before = fixture_snapshot(f);
        prepare_ok(f);
        if (check_during)
                check_during(f);
        restore_ok(f);
        char *after = fixture_snapshot(f);
        assert_same_tree(before, after);
        free(before);
        free(after);
}

static void test_a_unit_stopped_before_the_run_is_neither_stopped_nor_started(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, TREE, DEF_RTX2060);
        char *plan = plan_text(&f);
        assert_null(strstr(plan, "display-manager.service"));
        free(plan);
        fixture_teardown(&f);
        prepare_restore_exactly(&f, DEF_RTX2060, NULL);
        char unit[64];
        fixture_read_tmp(&f, "fake/units/display-manager.service", unit, sizeof(unit));
        assert_string_equal(unit, "inactive gdm.service");
        fixture_teardown(&f);
}

static void ucsi_on_vfio(const struct fixture *f)
{
        char driver[64];
        fixture_driver(f, UCSI, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci"); /* the whole group goes to the guest */
}

static void test_a_driver_module_not_loaded_before_the_run_is_not_loaded_on_restore(void **state)
{
        (void)state;
        struct fixture f;
        prepare_restore_exactly(&f, DEF_RTX2060, ucsi_on_vfio);
        assert_false(fixture_exists(&f, "/sys/module/i2c_nvidia_gpu"));
        char driver[64];
        fixture_driver(&f, UCSI, driver, sizeof(driver));
        assert_string_equal(driver, "");
        fixture_teardown(&f);
}

static void test_a_listed_module_that_is_not_loaded_is_noted_and_not_loaded_on_restore(void **state)
{
        (void)state;
        struct fixture f;
        prepare_restore_exactly(&f, DEF_RTX2060_LISTED, ucsi_on_vfio);
        assert_false(fixture_exists(&f, "/sys/module/i2c_nvidia_gpu"));
        fixture_teardown(&f);
        fixture_setup(&f, TREE, DEF_RTX2060_LISTED);
        char *plan = plan_text(&f);
        assert_non_null(strstr(plan, "modules: module i2c_nvidia_gpu is not loaded"));
        assert_null(strstr(plan, "unload module i2c_nvidia_gpu"));
        assert_non_null(strstr(plan, "modules: unload module nvidia\n"));
        free(plan);
        fixture_teardown(&f);
}

static void usbc_untouched(const struct fixture *f)
{
        char driver[64], override[64];
        fixture_driver(f, USBC, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci");
        read_override(f, USBC, override, sizeof(override));
        assert_string_equal(override, "vfio-pci");
        fixture_driver(f, HDMI, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci");
        ucsi_on_vfio(f);
}

static void
test_functions_unbound_or_on_vfio_before_the_run_stay_so_with_their_overrides(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, TREE, DEF_RTX2060);
        char *plan = plan_text(&f);
        assert_null(strstr(plan, "vfio: " USBC)); /* nothing to do for it */
        assert_non_null(strstr(plan, "vfio: " HDMI " (no driver) -> vfio-pci"));
        assert_non_null(strstr(plan, "vfio: " UCSI " (no driver) -> vfio-pci"));
        free(plan);
        fixture_teardown(&f);
        prepare_restore_exactly(&f, DEF_RTX2060, usbc_untouched);
        char driver[64], override[64];
        /* snd_hda_intel is loaded all along and would take the HDMI audio on a probe */
        assert_true(fixture_exists(&f, "/sys/bus/pci/drivers/snd_hda_intel"));
        const char *unbound[] = {HDMI, UCSI};
        for (size_t i = 0; i < 2; i++) {
                fixture_driver(&f, unbound[i], driver, sizeof(driver));
                assert_string_equal(driver, "");
                read_override(&f, unbound[i], override, sizeof(override));
                assert_string_equal(override, "(null)");
        }
        fixture_driver(&f, USBC, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci");
        read_override(&f, USBC, override, sizeof(override));
        assert_string_equal(override, "vfio-pci");
        fixture_driver(&f, "0000:06:00.0", driver, sizeof(driver));
        assert_string_equal(driver, "nvidia");
        fixture_teardown(&f);
}

static void type1_loaded(const struct fixture *f)
{
        assert_true(fixture_exists(f, "/sys/module/vfio_iommu_type1"));
}

/* vfio_pci stays (a device the run did not bind still uses it), but what the run
 * loaded besides goes: nothing else needs it. */
static void test_vfio_modules_the_run_loaded_go_even_when_a_device_stays_on_vfio(void **state)
{
        (void)state;
        struct fixture f;
        prepare_restore_exactly(&f, DEF_RTX2060, type1_loaded);
        assert_false(fixture_exists(&f, "/sys/module/vfio_iommu_type1"));
        assert_true(fixture_exists(&f, "/sys/module/vfio_pci"));
        fixture_teardown(&f);
}

/* The owner unbound the UCSI function but left i2c_nvidia_gpu loaded; the definition
 * names that module, so the run unloads it and restore loads it again, and a driver
 * that registers probes every device without one: restore must not leave the
 * function bound where it was not. */
static void test_a_reloaded_module_does_not_keep_a_function_that_was_unbound(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, TREE, DEF_RTX2060_LISTED);
        struct vl_error err = {0};
        assert_int_equal(f.modules.insert(f.modules.userdata, "i2c_nvidia_gpu", &err), 0);
        char driver[64];
        fixture_driver(&f, UCSI, driver, sizeof(driver));
        assert_string_equal(driver, "nvidia-gpu"); /* the fake kernel probed it */
        assert_int_equal(sysroot_write("/sys/bus/pci/drivers/nvidia-gpu/unbind", UCSI, &err), 0);
        char *before = fixture_snapshot(&f);
        char *plan = plan_text(&f);
        assert_non_null(strstr(plan, "modules: unload module i2c_nvidia_gpu\n"));
        free(plan);
        prepare_ok(&f);
        ucsi_on_vfio(&f);
        restore_ok(&f);
        assert_true(fixture_exists(&f, "/sys/module/i2c_nvidia_gpu"));
        fixture_driver(&f, UCSI, driver, sizeof(driver));
        assert_string_equal(driver, "");
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_unit_stopped_before_the_run_is_neither_stopped_nor_started),
                cmocka_unit_test(
                        test_a_driver_module_not_loaded_before_the_run_is_not_loaded_on_restore),
                cmocka_unit_test(
                        test_a_listed_module_that_is_not_loaded_is_noted_and_not_loaded_on_restore),
                cmocka_unit_test(
                        test_functions_unbound_or_on_vfio_before_the_run_stay_so_with_their_overrides),
                cmocka_unit_test(
                        test_vfio_modules_the_run_loaded_go_even_when_a_device_stays_on_vfio),
                cmocka_unit_test(test_a_reloaded_module_does_not_keep_a_function_that_was_unbound),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
