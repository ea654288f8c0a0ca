/* Health before give-back (issue 15): a GPU function that does not answer after the VM
 * stays on vfio-pci with the rest of its card, everything else is restored, and
 * RUN_DIR/gpu-lost (with this boot's ID) refuses the next run until a reboot. On the
 * amd-2fn-simpledrm fixture (0c:00.0 amdgpu + 0c:00.1 HDMI audio). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostprep/gpu_health.h"
#include "hostprep/gpu_lost.h"
#include "hostprep/sysroot.h"
#include "hostprep_defs.h"
#include "hostprep_fixture.h"

#define TREE  "amd-2fn-simpledrm"
#define GPU   "0000:0c:00.0"
#define AUDIO "0000:0c:00.1"
#define BOOT1 "5a1e2b3c-0000-4000-8000-000000000001"
#define BOOT2 "5a1e2b3c-0000-4000-8000-000000000002"

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

static void set_boot_id(struct fixture *f, const char *id)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/proc/sys/kernel/random", f->root);
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "mkdir -p %s", path);
        assert_int_equal(system(cmd), 0);
        strcat(path, "/boot_id");
        FILE *out = fopen(path, "w");
        assert_non_null(out);
        fprintf(out, "%s\n", id);
        fclose(out);
}

/* What a card that fell off the bus answers: all ones. */
static void config_reads_ffff(struct fixture *f, const char *addr)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/config", f->root, addr);
        unsigned char ones[256];
        memset(ones, 0xff, sizeof(ones));
        FILE *out = fopen(path, "wb");
        assert_non_null(out);
        assert_int_equal(fwrite(ones, 1, sizeof(ones), out), sizeof(ones));
        fclose(out);
}

static void test_config_space_reading_ffff_is_unhealthy(void **state)
{
        (void)state;
        uint8_t config[64];
        char why[160] = "";
        memset(config, 0xff, sizeof(config));
        assert_false(gpu_health_judge(config, sizeof(config), NULL, why, sizeof(why)));
        assert_non_null(strstr(why, "ffff"));
        memset(config, 0, sizeof(config));
        config[0] = 0x02, config[1] = 0x10, config[2] = 0x1f, config[3] = 0x73; /* 1002:731f */
        assert_true(gpu_health_judge(config, sizeof(config), NULL, why, sizeof(why)));
        /* reserved command bits set: not a register a live device returns */
        config[5] = 0xf8;
        assert_false(gpu_health_judge(config, sizeof(config), NULL, why, sizeof(why)));
        /* too short to be a header */
        assert_false(gpu_health_judge(config, 10, NULL, why, sizeof(why)));
}

static void test_link_width_zero_is_unhealthy_only_for_an_endpoint(void **state)
{
        (void)state;
        uint8_t config[256] = {0x02, 0x10, 0x1f, 0x73};
        char why[160] = "";
        config[6] = 0x10;    /* status: capability list */
        config[0x34] = 0x60; /* first capability */
        config[0x60] = 0x10; /* PCI Express, version 2, root complex integrated endpoint */
        config[0x62] = 0x92;
        assert_true(gpu_health_judge(config, sizeof(config), "0", why, sizeof(why)));
        config[0x62] = 0x02; /* an endpoint with a link of its own */
        assert_false(gpu_health_judge(config, sizeof(config), "0", why, sizeof(why)));
        assert_non_null(strstr(why, "link down"));
        assert_true(gpu_health_judge(config, sizeof(config), "16", why, sizeof(why)));
}

static void test_a_healthy_gpu_goes_back_to_its_driver_and_leaves_no_record(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, TREE, DEF_AMD);
        set_boot_id(&f, BOOT1);
        char *before = fixture_snapshot(&f);
        prepare_ok(&f);
        restore_ok(&f);
        char *after = fixture_snapshot(&f);
        if (strcmp(before, after))
                fixture_print_diff(before, after);
        assert_string_equal(before, after);
        char path[512];
        snprintf(path, sizeof(path), "%s/" GPU_LOST_FILE, f.run);
        assert_int_equal(access(path, F_OK), -1);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void test_a_gpu_that_does_not_answer_stays_on_vfio_with_its_card(void **state)
{
        (void)state;
        struct fixture f;
        char driver[64];
        fixture_setup(&f, TREE, DEF_AMD);
        set_boot_id(&f, BOOT1);
        prepare_ok(&f);
        config_reads_ffff(&f, GPU);
        restore_ok(&f);
        fixture_driver(&f, GPU, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci");
        fixture_driver(&f, AUDIO, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci"); /* the same card: not given back either */
        /* everything else is restored: the display manager runs again */
        char unit[64];
        fixture_read_tmp(&f, "fake/units/display-manager.service", unit, sizeof(unit));
        assert_int_equal(strncmp(unit, "active", 6), 0);

        struct hostprep_gpu_lost lost;
        bool stale;
        assert_int_equal(hostprep_gpu_lost_read(f.run, &lost, &stale), 1);
        assert_string_equal(lost.boot_id, BOOT1);
        assert_non_null(hostprep_gpu_lost_find(&lost, GPU));
        assert_non_null(strstr(hostprep_gpu_lost_find(&lost, GPU)->reason, "ffff"));
        assert_non_null(hostprep_gpu_lost_find(&lost, AUDIO));
        hostprep_gpu_lost_free(&lost);

        /* the journal is gone; restoring again is harmless and rebinds nothing */
        assert_false(hostprep_journal_exists(f.run));
        restore_ok(&f);
        fixture_driver(&f, GPU, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci");
        fixture_teardown(&f);
}

static void test_the_gpu_lost_record_refuses_a_run_with_the_reboot_message(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, TREE, DEF_AMD);
        set_boot_id(&f, BOOT1);
        prepare_ok(&f);
        config_reads_ffff(&f, GPU);
        restore_ok(&f);
        struct vl_error err = {0};
        assert_int_equal(hostprep_gpu_lost_blocks(f.run, f.def, false, &err), 1);
        assert_non_null(strstr(err.msg, GPU));
        assert_non_null(strstr(err.msg, "needs a host reboot"));
        /* a run prepared anyway must not start on top of it: prepare itself does not
         * check, run does (run/run.c), so the record is what the caller consults */
        fixture_teardown(&f);
}

static void test_the_gpu_lost_record_expires_with_a_new_boot_id(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, TREE, DEF_AMD);
        set_boot_id(&f, BOOT1);
        prepare_ok(&f);
        config_reads_ffff(&f, GPU);
        restore_ok(&f);
        set_boot_id(&f, BOOT2); /* the host rebooted (and kept the runtime dir) */
        struct hostprep_gpu_lost lost;
        bool stale;
        assert_int_equal(hostprep_gpu_lost_read(f.run, &lost, &stale), 0);
        assert_true(stale);
        struct vl_error err = {0};
        assert_int_equal(hostprep_gpu_lost_blocks(f.run, f.def, false, &err), 0);
        char path[512];
        snprintf(path, sizeof(path), "%s/" GPU_LOST_FILE, f.run);
        assert_int_equal(access(path, F_OK), 0); /* check/status remove nothing */
        assert_int_equal(hostprep_gpu_lost_blocks(f.run, f.def, true, &err), 0);
        assert_int_equal(access(path, F_OK), -1); /* run clears the stale record */
        fixture_teardown(&f);
}

static void test_a_gpu_lost_record_parses_and_rejects_garbage(void **state)
{
        (void)state;
        struct hostprep_gpu_lost lost;
        assert_int_equal(hostprep_gpu_lost_parse(
                                 "boot_id " BOOT1 "\n" GPU " gone from the PCI bus\n", &lost),
                         0);
        assert_int_equal(lost.count, 1);
        assert_string_equal(lost.entries[0].reason, "gone from the PCI bus");
        hostprep_gpu_lost_free(&lost);
        assert_int_equal(hostprep_gpu_lost_parse(GPU " no boot id\n", &lost), -EINVAL);
        assert_int_equal(hostprep_gpu_lost_parse("garbage\n", &lost), -EINVAL);
}

/* The one bounded reset revives a function that read all ones after the VM: it goes
 * back to its driver like any healthy one, and nothing is recorded as lost. */
static void test_a_gpu_the_reset_heals_goes_back_to_its_driver_with_no_record(void **state)
{
        (void)state;
        struct fixture f;
        char driver[64], before_driver[64], path[512];
        fixture_setup(&f, TREE, DEF_AMD);
        set_boot_id(&f, BOOT1);
        fixture_driver(&f, GPU, before_driver, sizeof(before_driver));
        prepare_ok(&f);
        /* what a reset brings back: the config space the card had */
        char config[256];
        snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/" GPU "/config", f.root);
        FILE *in = fopen(path, "rb");
        assert_non_null(in);
        size_t n = fread(config, 1, sizeof(config), in);
        fclose(in);
        assert_true(n >= 64);
        snprintf(path, sizeof(path), "%s/fake/reset_heals", f.tmp);
        assert_int_equal(mkdir(path, 0755), 0);
        strcat(path, "/" GPU);
        FILE *out = fopen(path, "wb");
        assert_non_null(out);
        assert_int_equal(fwrite(config, 1, n, out), n);
        fclose(out);
        snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/" GPU "/reset", f.root);
        out = fopen(path, "w");
        assert_non_null(out);
        fclose(out);
        config_reads_ffff(&f, GPU);

        restore_ok(&f);
        char resets[64];
        fixture_read_tmp(&f, "fake/resets", resets, sizeof(resets));
        assert_string_equal(resets, GPU); /* one reset, of the unhealthy function only */
        fixture_driver(&f, GPU, driver, sizeof(driver));
        assert_string_equal(driver, before_driver);
        fixture_driver(&f, AUDIO, driver, sizeof(driver));
        assert_string_not_equal(driver, "vfio-pci");
        snprintf(path, sizeof(path), "%s/" GPU_LOST_FILE, f.run);
        assert_int_equal(access(path, F_OK), -1);
        struct vl_error err = {0};
        assert_int_equal(hostprep_gpu_lost_blocks(f.run, f.def, false, &err), 0);
        assert_false(hostprep_journal_exists(f.run));
        fixture_teardown(&f);
}

/* A health check that could not run (here: injected) leaves the card's health unknown:
 * the vfio step must not give it to its driver in that restore; the journal stays, and
 * the restore that can check it gives it back. */
static void
test_a_failed_health_check_keeps_the_card_on_vfio_until_a_restore_checks_it(void **state)
{
        (void)state;
        struct fixture f;
        char driver[64], before_driver[64];
        fixture_setup(&f, TREE, DEF_AMD);
        set_boot_id(&f, BOOT1);
        fixture_driver(&f, GPU, before_driver, sizeof(before_driver));
        prepare_ok(&f);

        struct hostprep_options failing = {.run_dir = f.run,
                                           .units = f.opts.units,
                                           .modules = f.opts.modules,
                                           .timeout_ms = 2000,
                                           .fail_undo = "gpu_health"};
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_true(hostprep_restore(&failing, &report, &err) < 0);
        bool named_gpu = false;
        for (size_t i = 0; i < report.n_failures; i++) {
                fprintf(stderr, "  report: %s\n", report.failures[i]);
                if (strstr(report.failures[i], "vfio: ") && strstr(report.failures[i], GPU) &&
                    strstr(report.failures[i], "health"))
                        named_gpu = true;
        }
        assert_true(named_gpu);
        hostprep_report_free(&report);
        fixture_driver(&f, GPU, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci");
        fixture_driver(&f, AUDIO, driver, sizeof(driver));
        assert_string_equal(driver, "vfio-pci");
        assert_true(hostprep_journal_exists(f.run));

        restore_ok(&f);
        fixture_driver(&f, GPU, driver, sizeof(driver));
        assert_string_equal(driver, before_driver);
        fixture_teardown(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_space_reading_ffff_is_unhealthy),
                cmocka_unit_test(test_link_width_zero_is_unhealthy_only_for_an_endpoint),
                cmocka_unit_test(test_a_healthy_gpu_goes_back_to_its_driver_and_leaves_no_record),
                cmocka_unit_test(test_a_gpu_that_does_not_answer_stays_on_vfio_with_its_card),
                cmocka_unit_test(test_a_gpu_the_reset_heals_goes_back_to_its_driver_with_no_record),
                cmocka_unit_test(
                        test_a_failed_health_check_keeps_the_card_on_vfio_until_a_restore_checks_it),
                cmocka_unit_test(test_the_gpu_lost_record_refuses_a_run_with_the_reboot_message),
                cmocka_unit_test(test_the_gpu_lost_record_expires_with_a_new_boot_id),
                cmocka_unit_test(test_a_gpu_lost_record_parses_and_rejects_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
