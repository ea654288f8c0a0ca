/* prepare + restore against fixture trees: what changes, that everything comes back
 * byte-identical, and what happens when a step, an undo or vmlaunch itself fails. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostprep/steps.h"
#include "hostprep_defs.h"
#include "hostprep_fixture.h"
#include "util/pidfd.h"

static void assert_same_tree(const char *before, const char *after)
{
        if (strcmp(before, after) != 0)
                fixture_print_diff(before, after);
        assert_string_equal(before, after);
}

static void print_report(const struct hostprep_report *report)
{
        for (size_t i = 0; i < report->n_failures; i++)
                fprintf(stderr, "  report: %s\n", report->failures[i]);
}

static int prepare(struct fixture *f, struct hostprep_report *report, struct vl_error *err)
{
        *err = (struct vl_error){0};
        return hostprep_prepare(f->def, &f->opts, report, err);
}

/* Prepares, which must succeed (the error is printed when it does not). */
static void prepare_ok(struct fixture *f)
{
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(f, &report, &err);
        if (r < 0)
                fprintf(stderr, "prepare: %s\n", err.msg);
        assert_int_equal(r, 0);
        hostprep_report_free(&report);
}

/* Restores with options that share nothing with the run that prepared: only the
 * runtime dir, like `vmlaunch restore NAME` in a fresh process. */
static int restore_fresh(struct fixture *f, struct hostprep_report *report)
{
        struct hostprep_options fresh = {.run_dir = f->run,
                                         .units = f->opts.units,
                                         .modules = f->opts.modules,
                                         .timeout_ms = 2000,
                                         .fail_undo = f->opts.fail_undo};
        struct vl_error err = {0};
        int r = hostprep_restore(&fresh, report, &err);
        if (r < 0)
                fprintf(stderr, "restore: %s\n", err.msg);
        return r;
}

static void test_prepare_rtx2060_moves_group_to_vfio_and_changes_the_host(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        if (r < 0)
                fprintf(stderr, "prepare: %s\n", err.msg);
        assert_int_equal(r, 0);
        char buf[128];
        const char *fns[] = {"0000:06:00.0", "0000:06:00.1", "0000:06:00.2", "0000:06:00.3"};
        for (size_t i = 0; i < 4; i++) {
                fixture_driver(&f, fns[i], buf, sizeof(buf));
                assert_string_equal(buf, "vfio-pci");
        }
        fixture_driver(&f, "0000:00:01.0", buf, sizeof(buf));
        assert_string_equal(buf, "pcieport"); /* the bridge stays */
        fixture_driver(&f, "0000:00:1f.3", buf, sizeof(buf));
        assert_string_equal(buf, "snd_hda_intel"); /* onboard audio keeps its driver */
        assert_false(fixture_exists(&f, "/sys/module/nvidia"));
        assert_false(fixture_exists(&f, "/sys/module/nvidia_drm"));
        /* isolate_cpus: the host's own tasks on the emulator CPU */
        const char *slices[] = {"init.scope", "system.slice", "user.slice"};
        for (size_t i = 0; i < 3; i++) {
                char rel[64];
                snprintf(rel, sizeof(rel), "fake/allowed/%s", slices[i]);
                fixture_read_tmp(&f, rel, buf, sizeof(buf));
                assert_string_equal(buf, "2");
        }
        assert_true(fixture_exists(&f, "/sys/module/snd_hda_intel"));
        assert_true(fixture_exists(&f, "/sys/module/vfio_pci"));
        fixture_read(&f, "/sys/class/vtconsole/vtcon1/bind", buf, sizeof(buf));
        assert_string_equal(buf, "0");
        assert_false(fixture_exists(&f, "/sys/bus/platform/devices/efi-framebuffer.0/driver"));
        fixture_read(&f, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", buf,
                     sizeof(buf));
        assert_string_equal(buf, "512");
        fixture_read(&f, "/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", buf, sizeof(buf));
        assert_string_equal(buf, "performance");
        fixture_read(&f, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", buf, sizeof(buf));
        assert_string_equal(buf, "schedutil"); /* not pinned */
        assert_true(hostprep_journal_exists(f.run));
        hostprep_report_free(&report);
        fixture_teardown(&f);
}

static void prepare_restore_identical(const char *tree, const char *ini)
{
        struct fixture f;
        fixture_setup(&f, tree, ini);
        char *before = fixture_snapshot(&f);
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        if (r < 0)
                fprintf(stderr, "prepare %s: %s\n", tree, err.msg);
        assert_int_equal(r, 0);
        hostprep_report_free(&report);
        char *during = fixture_snapshot(&f);
        assert_string_not_equal(before, during);
        assert_int_equal(restore_fresh(&f, &report), 0);
        assert_int_equal(report.n_failures, 0);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        assert_false(hostprep_journal_exists(f.run));
        hostprep_report_free(&report);
        free(before);
        free(during);
        free(after);
        fixture_teardown(&f);
}

static void collect_log(void *userdata, int priority, const char *line)
{
        (void)priority;
        char *log = userdata;
        strncat(log, line, 8191 - strlen(log));
        strncat(log, "\n", 8191 - strlen(log));
}

/* One line per device coming back, whichever step brings it back: vfio's undo when
 * its driver is loaded, the modules step when the driver's module had to be. */
static void test_restore_logs_each_device_back_on_its_driver(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        struct hostprep_report report;
        struct vl_error err;
        prepare_ok(&f);
        static char log[8192];
        log[0] = '\0';
        struct hostprep_options opts = {.run_dir = f.run,
                                        .units = f.opts.units,
                                        .modules = f.opts.modules,
                                        .timeout_ms = 2000,
                                        .log = collect_log,
                                        .log_userdata = log};
        assert_int_equal(hostprep_restore(&opts, &report, &err), 0);
        hostprep_report_free(&report);
        fprintf(stderr, "%s", log);
        assert_non_null(strstr(
                log, "0000:06:00.0 vfio-pci -> no driver until the module of nvidia is loaded"));
        assert_non_null(strstr(log, "loaded module nvidia: 0000:06:00.0 back on nvidia"));
        assert_non_null(strstr(log, "0000:06:00.1 vfio-pci -> snd_hda_intel"));
        assert_non_null(strstr(log, "0000:06:00.2 vfio-pci -> xhci_hcd"));
        assert_non_null(strstr(log, "0000:06:00.3 back on nvidia-gpu"));
        fixture_teardown(&f);
}

static void test_restore_after_prepare_rtx2060_is_byte_identical(void **state)
{
        (void)state;
        prepare_restore_identical("rtx2060-4fn", DEF_RTX2060);
}

static void test_restore_after_prepare_amd_simpledrm_is_byte_identical(void **state)
{
        (void)state;
        prepare_restore_identical("amd-2fn-simpledrm", DEF_AMD);
}

/* Nothing on this host is at its default (rtx2060-4fn-nondefault: mixed governors,
 * pages someone else reserved, user.slice restricted, the framebuffer console unbound):
 * restore returns exactly that, not the defaults. */
static void test_restore_returns_a_non_default_host_exactly(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn-nondefault", DEF_RTX2060);
        fixture_write_tmp(&f, "fake/allowed/user.slice", "3\n");
        char *before = fixture_snapshot(&f);
        prepare_ok(&f);
        char cpus[64];
        fixture_read_tmp(&f, "fake/allowed/user.slice", cpus, sizeof(cpus));
        assert_string_equal(cpus, "2"); /* isolated on the emulator CPU meanwhile */
        /* the kernel binds fbcon again when the GPU's driver comes back (not simulated
         * by the fake kernel): restore must unbind it as it was */
        char bind[PATH_MAX];
        snprintf(bind, sizeof(bind), "%s/sys/class/vtconsole/vtcon1/bind", f.root);
        FILE *out = fopen(bind, "w");
        assert_non_null(out);
        fputs("1\n", out);
        fclose(out);
        struct hostprep_report report;
        assert_int_equal(restore_fresh(&f, &report), 0);
        assert_int_equal(report.n_failures, 0);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        hostprep_report_free(&report);
        free(before);
        free(after);
        fixture_teardown(&f);
}

/* fail_step "k:n" for every step k and every change n of it, until the step
 * makes all its changes and the failure comes after it: each rolls back completely. */
static void test_a_failure_before_every_change_of_every_step_rolls_back(void **state)
{
        (void)state;
        size_t mid_step = 0;
        for (size_t k = 1; k <= hostprep_n_steps; k++) {
                for (size_t n = 1;; n++) {
                        struct fixture f;
                        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
                        char *before = fixture_snapshot(&f);
                        char point[32];
                        snprintf(point, sizeof(point), "%zu:%zu", k, n);
                        f.opts.fail_step = point;
                        struct hostprep_report report;
                        struct vl_error err;
                        int r = prepare(&f, &report, &err);
                        fprintf(stderr, "%s (%s): %s\n", point, hostprep_steps[k - 1]->name,
                                err.msg);
                        assert_true(r < 0);
                        assert_non_null(strstr(err.msg, "injected failure"));
                        assert_int_equal(strncmp(err.msg, hostprep_steps[k - 1]->name,
                                                 strlen(hostprep_steps[k - 1]->name)),
                                         0);
                        print_report(&report);
                        assert_int_equal(report.n_failures, 0);
                        char *after = fixture_snapshot(&f);
                        assert_same_tree(before, after);
                        assert_false(hostprep_journal_exists(f.run));
                        hostprep_report_free(&report);
                        free(before);
                        free(after);
                        fixture_teardown(&f);
                        bool before_a_change = strstr(err.msg, "injected failure before") != NULL;
                        mid_step += before_a_change && n > 1;
                        if (!before_a_change)
                                break;
                        assert_true(n < 64);
                }
        }
        /* the rtx2060 group has four devices for vfio and several modules to unload */
        assert_true(mid_step >= 6);
}

static void test_failing_undo_is_named_and_a_second_restore_finishes(void **state)
{
        (void)state;
        for (size_t j = 1; j <= hostprep_n_steps; j++) {
                struct fixture f;
                fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
                char *before = fixture_snapshot(&f);
                struct hostprep_report report;
                prepare_ok(&f);
                char number[16];
                snprintf(number, sizeof(number), "%zu", j);
                f.opts.fail_undo = number;
                int r = restore_fresh(&f, &report);
                f.opts.fail_undo = NULL;
                char *after = fixture_snapshot(&f);
                if (r == 0) {
                        /* the step journaled nothing (checks, hooks without hooks) */
                        assert_same_tree(before, after);
                        assert_int_equal(report.n_failures, 0);
                } else {
                        /* (the hand-over's failed undo leaves no trace here: /dev/vfio/N
                         * goes with vfio-pci, as on a real host) */
                        assert_true(r < 0);
                        assert_true(report.n_failures > 0);
                        assert_true(report.journal_kept);
                        /* step j's undo records are each named; later undos that depend
                         * on them (a module reload wants the device off vfio-pci) may fail
                         * too and are named as well */
                        const char *name = hostprep_steps[j - 1]->name;
                        size_t named = 0;
                        for (size_t i = 0; i < report.n_failures; i++) {
                                fprintf(stderr, "undo %zu: %s\n", j, report.failures[i]);
                                assert_non_null(strstr(report.failures[i], ": could not "));
                                named += strncmp(report.failures[i], name, strlen(name)) == 0 &&
                                         strstr(report.failures[i], ": injected failure");
                        }
                        assert_true(named > 0);
                }
                hostprep_report_free(&report);
                assert_int_equal(restore_fresh(&f, &report), 0);
                char *final = fixture_snapshot(&f);
                assert_same_tree(before, final);
                assert_false(hostprep_journal_exists(f.run));
                hostprep_report_free(&report);
                free(before);
                free(after);
                free(final);
                fixture_teardown(&f);
        }
}

static void test_crash_after_each_step_then_restore_from_the_journal_alone(void **state)
{
        (void)state;
        for (size_t k = 1; k <= hostprep_n_steps; k++) {
                struct fixture f;
                fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
                char *before = fixture_snapshot(&f);
                f.opts.crash_after_step = (unsigned)k;
                struct hostprep_report report;
                prepare_ok(&f);
                assert_true(hostprep_journal_exists(f.run));
                assert_int_equal(restore_fresh(&f, &report), 0);
                hostprep_report_free(&report);
                char *after = fixture_snapshot(&f);
                assert_same_tree(before, after);
                /* restoring twice is harmless */
                assert_int_equal(restore_fresh(&f, &report), 0);
                assert_true(report.nothing_to_restore);
                hostprep_report_free(&report);
                free(before);
                free(after);
                fixture_teardown(&f);
        }
}

/* Every change of every step is journaled before it is made: vmlaunch killed right
 * before any of its journal records leaves only changes that restore, reading the
 * journal alone, can undo. (A change made before its record would stay.) */
static void test_a_kill_before_any_journal_record_leaves_nothing_restore_cannot_undo(void **state)
{
        (void)state;
        size_t kills = 0;
        for (size_t k = 1; k <= hostprep_n_steps; k++) {
                for (unsigned n = 1;; n++) {
                        struct fixture f;
                        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
                        char *before = fixture_snapshot(&f);
                        char point[32];
                        snprintf(point, sizeof(point), "%zu:%u", k, n);
                        f.opts.kill_before_record = point;
                        pid_t pid = fork();
                        assert_true(pid >= 0);
                        if (pid == 0) {
                                struct hostprep_report report;
                                struct vl_error err;
                                _exit(prepare(&f, &report, &err) == 0 ? 0 : 1);
                        }
                        int status = 0;
                        assert_int_equal(waitpid(pid, &status, 0), pid);
                        bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
                        if (!killed) /* the step has fewer records: prepare finished */
                                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                        struct hostprep_report report;
                        assert_int_equal(restore_fresh(&f, &report), 0);
                        hostprep_report_free(&report);
                        char *after = fixture_snapshot(&f);
                        if (strcmp(before, after))
                                fprintf(stderr, "killed before record %s\n", point);
                        assert_same_tree(before, after);
                        free(before);
                        free(after);
                        fixture_teardown(&f);
                        if (!killed)
                                break;
                        kills++;
                }
        }
        assert_true(kills >= 10); /* each step's records, not a switch that never fired */
}

static void test_restore_of_a_journal_with_a_torn_last_line_restores_the_rest(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        char *before = fixture_snapshot(&f);
        f.opts.crash_after_step = 6; /* vtconsoles */
        struct hostprep_report report;
        prepare_ok(&f);
        char path[512];
        snprintf(path, sizeof(path), "%s/journal", f.run);
        FILE *j = fopen(path, "a");
        fputs("framebuffer desc=rebind driver=efi-fr", j); /* killed mid-append */
        fclose(j);
        assert_int_equal(restore_fresh(&f, &report), 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void test_restore_without_a_journal_has_nothing_to_restore(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        struct hostprep_report report;
        assert_int_equal(restore_fresh(&f, &report), 0);
        assert_true(report.nothing_to_restore);
        hostprep_report_free(&report);
        fixture_teardown(&f);
}

static void test_prepare_refuses_while_a_journal_waits_for_restore(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        f.opts.crash_after_step = 2;
        struct hostprep_report report;
        struct vl_error err;
        prepare_ok(&f);
        f.opts.crash_after_step = 0;
        assert_int_equal(prepare(&f, &report, &err), -EBUSY);
        assert_non_null(strstr(err.msg, "vmlaunch restore win10"));
        hostprep_report_free(&report);
        assert_int_equal(restore_fresh(&f, &report), 0);
        hostprep_report_free(&report);
        fixture_teardown(&f);
}

static void expect_prepare_fails_unchanged(const char *tree, const char *ini, const char *setup_rel,
                                           const char *setup_content, const char *message)
{
        struct fixture f;
        fixture_setup(&f, tree, ini);
        if (setup_rel)
                fixture_write_tmp(&f, setup_rel, setup_content);
        char *before = fixture_snapshot(&f);
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        fprintf(stderr, "%s: %s\n", tree, err.msg);
        assert_true(r < 0);
        assert_non_null(strstr(err.msg, message));
        print_report(&report);
        assert_int_equal(report.n_failures, 0);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        hostprep_report_free(&report);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void test_group_with_a_sata_controller_is_refused_naming_it(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged(
                "sata-in-group", DEF_RTX2060, NULL, NULL,
                "0000:06:00.2 (SATA controller, class 0x0106) is in the GPU's IOMMU group 14; the host needs it");
}

static void test_isolation_without_the_cpuset_controller_is_refused_before_any_change(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged("rtx2060-4fn", DEF_RTX2060,
                                       "root/sys/fs/cgroup/cgroup.controllers", "cpu io memory\n",
                                       "isolate_cpus needs the cgroup v2 cpuset controller");
}

static void test_process_holding_the_gpu_is_named_with_its_unit(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged(
                "rtx2060-4fn-persistenced", DEF_RTX2060, NULL, NULL,
                "process 900 (nvidia-persiste) of nvidia-persistenced.service holds /dev/nvidiactl");
}

/* Xorg outlives gdm's stop job for a moment: prepare waits for it (pidfd in real life,
 * the fake here) before anything is unloaded. */
static void test_holder_that_exits_after_the_unit_stopped_is_waited_for(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        fixture_write_tmp(&f, "fake/linger", "1200");
        fixture_write_tmp(&f, "fake/exits_when_waited", "1200");
        char *before = fixture_snapshot(&f);
        prepare_ok(&f);
        struct hostprep_report report;
        assert_string_equal(f.waited, "1200 ");
        assert_false(fixture_exists(&f, "/proc/1200"));
        assert_false(fixture_exists(&f, "/sys/module/nvidia"));
        assert_int_equal(restore_fresh(&f, &report), 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after); /* gdm started again: Xorg is back */
        free(before);
        free(after);
        fixture_teardown(&f);
}

/* Prepares tree, where holder (a pid) exits once waited for, like a process that
 * ends with the display manager: prepare succeeds after waiting for it. */
static void expect_holder_waited_for(const char *tree, const char *holder)
{
        struct fixture f;
        fixture_setup(&f, tree, DEF_RTX2060);
        fixture_write_tmp(&f, "fake/exits_when_waited", holder);
        prepare_ok(&f);
        struct hostprep_report report;
        char waited[32], proc[32];
        snprintf(waited, sizeof(waited), "%s ", holder);
        snprintf(proc, sizeof(proc), "/proc/%s", holder);
        assert_non_null(strstr(f.waited, waited));
        assert_false(fixture_exists(&f, proc));
        assert_false(fixture_exists(&f, "/sys/module/nvidia"));
        assert_int_equal(restore_fresh(&f, &report), 0);
        hostprep_report_free(&report);
        fixture_teardown(&f);
}

/* gdm's greeter runs in a login session scope, not in gdm.service; it descends from
 * gdm, so it ends with it: prepare waits for it like for Xorg. */
static void test_greeter_session_started_by_the_display_manager_is_waited_for(void **state)
{
        (void)state;
        expect_holder_waited_for("rtx2060-4fn-greeter", "1300");
}

/* GNOME runs gnome-shell in the user's own systemd, not in the session scope; the
 * session gdm started ends when gdm stops, and the shell with it: waited for. */
static void test_gnome_shell_of_a_session_gdm_started_is_waited_for(void **state)
{
        (void)state;
        expect_holder_waited_for("rtx2060-4fn-gnome", "1700");
}

static void test_program_of_an_ssh_session_holding_the_gpu_names_the_session(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged(
                "rtx2060-4fn-ssh-session", DEF_RTX2060, NULL, NULL,
                "process 1510 (nvidia-smi) of login session 5 holds /dev/nvidia0: close it or end that session (`loginctl terminate-session 5`) before starting the VM");
}

static void test_user_unit_holding_the_gpu_audio_says_how_to_stop_it(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged(
                "rtx2060-4fn-user-audio", DEF_RTX2060, NULL, NULL,
                "process 1400 (pipewire) of user 1000's pipewire.service holds /dev/snd/controlC1: stop it (`systemctl --user stop pipewire.service` as user 1000) or log out of that user's desktop before starting the VM");
}

static void test_holder_surviving_the_deadline_is_named_and_prepare_rolls_back(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged(
                "rtx2060-4fn", DEF_RTX2060, "fake/linger", "1200",
                "after stopping display-manager.service, 1 process(es) still held the GPU 2000 ms later: process 1200 (Xorg) of gdm.service holds /dev/nvidia0; stop them");
}

static void test_hugepage_shortfall_says_reserved_n_of_m_and_frees_them(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged("rtx2060-4fn", DEF_RTX2060, "fake/hugepages_obtainable",
                                       "100", "reserved 100 of 512 pages (2048 kB each");
}

static void test_module_in_use_fails_before_unloading_anything(void **state)
{
        (void)state;
        expect_prepare_fails_unchanged("rtx2060-4fn", DEF_RTX2060,
                                       "root/sys/module/nvidia_uvm/refcnt", "1\n",
                                       "module nvidia_uvm is in use");
}

static void test_stuck_unbind_times_out_names_the_write_and_rolls_back(void **state)
{
        (void)state;
        /* 06:00.1's unbind never returns: the helper is stuck, we roll back */
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        char *before = fixture_snapshot(&f);
        fixture_write_tmp(&f, "fake/hang", "/sys/bus/pci/drivers/snd_hda_intel/unbind");
        f.opts.timeout_ms = 300;
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(r, -ETIMEDOUT);
        assert_non_null(strstr(
                err.msg,
                "writing '0000:06:00.1' to /sys/bus/pci/drivers/snd_hda_intel/unbind did not finish"));
        unlink(f.fake); /* keep the hang marker out of the comparison */
        char hang[600];
        snprintf(hang, sizeof(hang), "%s/hang", f.fake);
        unlink(hang);
        char *after = fixture_snapshot(&f);
        /* 06:00.1 was never unbound (the stuck write "did not happen"), so the rest
         * comes back exactly */
        assert_same_tree(before, after);
        hostprep_report_free(&report);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static char log_text[4096];

static void capture_log(void *userdata, int priority, const char *line)
{
        (void)userdata;
        (void)priority;
        size_t used = strlen(log_text);
        snprintf(log_text + used, sizeof(log_text) - used, "%s\n", line);
}

static void test_framebuffer_removed_by_the_kernel_is_not_rebound(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        f.opts.log = capture_log;
        log_text[0] = '\0';
        struct hostprep_report report;
        prepare_ok(&f);
        /* Linux >= 6.0: vfio-pci removed the conflicting efi-framebuffer.0 */
        char path[600];
        snprintf(path, sizeof(path), "%s/sys/bus/platform/devices/efi-framebuffer.0", f.root);
        rmdir(path);
        assert_false(fixture_exists(&f, "/sys/bus/platform/devices/efi-framebuffer.0"));
        struct vl_error restore_err = {0};
        assert_int_equal(hostprep_restore(&f.opts, &report, &restore_err), 0);
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        assert_false(fixture_exists(&f, "/sys/bus/platform/devices/efi-framebuffer.0"));
        assert_false(
                fixture_exists(&f, "/sys/bus/platform/drivers/efi-framebuffer/efi-framebuffer.0"));
        assert_non_null(strstr(log_text, "efi-framebuffer.0 is gone: the kernel removed it"));
        assert_null(strstr(log_text, "rebound efi-framebuffer.0"));
        fixture_teardown(&f);
}

/* The framebuffer is on the host's iGPU: prepare leaves it bound, and the console
 * fbcon draws on it; restore has nothing of either to put back. */
static void test_prepare_on_an_igpu_host_leaves_its_framebuffer_bound(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-igpu-simpledrm", DEF_RTX2060);
        char *before = fixture_snapshot(&f);
        prepare_ok(&f);
        struct hostprep_report report;
        char buf[128];
        fixture_driver(&f, "0000:06:00.0", buf, sizeof(buf));
        assert_string_equal(buf, "vfio-pci");
        assert_true(fixture_exists(&f, "/sys/bus/platform/devices/simple-framebuffer.0/driver"));
        fixture_read(&f, "/sys/class/vtconsole/vtcon1/bind", buf, sizeof(buf));
        assert_string_equal(buf, "1");
        char journal[512], *text = NULL;
        snprintf(journal, sizeof(journal), "%s/journal", f.run);
        FILE *in = fopen(journal, "r");
        assert_non_null(in);
        size_t cap = 0;
        while (getdelim(&text, &cap, '\0', in) > 0)
                assert_null(strstr(text, "vtconsoles"));
        free(text);
        fclose(in);
        assert_int_equal(restore_fresh(&f, &report), 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

/* fbcon mapped to nvidia-drm's fb1 on the RTX 2060: the console is unbound, and
 * restore binds it again. */
static void
test_prepare_on_an_igpu_host_unbinds_a_console_on_the_gpu_and_restore_rebinds_it(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-igpu-simpledrm", DEF_RTX2060);
        fixture_write_tmp(&f, "root/proc/cmdline", "root=/dev/nvme0n1p2 fbcon=map:1\n");
        char *before = fixture_snapshot(&f);
        prepare_ok(&f);
        struct hostprep_report report;
        char buf[128];
        fixture_read(&f, "/sys/class/vtconsole/vtcon1/bind", buf, sizeof(buf));
        assert_string_equal(buf, "0");
        assert_true(fixture_exists(&f, "/sys/bus/platform/devices/simple-framebuffer.0/driver"));
        assert_int_equal(restore_fresh(&f, &report), 0);
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void write_hook(const struct fixture *f, const char *stage, const char *name,
                       const char *body)
{
        char rel[512], path[1024];
        snprintf(rel, sizeof(rel), "hooks/win10/%s/%s", stage, name);
        fixture_write_tmp(f, rel, body);
        snprintf(path, sizeof(path), "%s/%s", f->tmp, rel);
        chmod(path, 0755);
}

static void test_hooks_run_with_vm_and_stage_and_a_failing_prepare_hook_rolls_back(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        char *before = fixture_snapshot(&f);
        char body[1024];
        snprintf(body, sizeof(body),
                 "#!/bin/sh\necho \"$VMLAUNCH_VM $VMLAUNCH_STAGE $1 $2 $3\" >> %s/hooks.log\n",
                 f.tmp);
        write_hook(&f, "release/end", "10-log", body);
        write_hook(&f, "prepare/begin", "10-log", body);
        write_hook(&f, "prepare/begin", "20-fail", "#!/bin/sh\nexit 3\n");
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        assert_true(r < 0);
        assert_non_null(strstr(err.msg, "20-fail (prepare/begin) exited with status 3"));
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        char log_path[600], log[512] = "";
        snprintf(log_path, sizeof(log_path), "%s/hooks.log", f.tmp);
        FILE *in = fopen(log_path, "r");
        assert_non_null(in);
        size_t n = fread(log, 1, sizeof(log) - 1, in);
        log[n] = '\0';
        fclose(in);
        assert_string_equal(log, "win10 prepare/begin win10 prepare begin\n"
                                 "win10 release/end win10 release end\n");
        free(before);
        free(after);
        fixture_teardown(&f);
}

/* Hooks get a small fixed environment, nothing of vmlaunch's (issue 12, item 5). */
static void test_a_hook_gets_exactly_the_documented_environment(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        char body[1024];
        snprintf(body, sizeof(body), "#!/bin/sh\nenv | sort > %s/hook.env\n", f.tmp);
        write_hook(&f, "prepare/begin", "10-env", body);
        setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
        setenv("LD_LIBRARY_PATH", "/home/user/lib", 1);
        setenv("USERS_OWN", "x", 1);
        setenv("LANG", "de_DE.UTF-8", 1);
        prepare_ok(&f);
        unsetenv("NOTIFY_SOCKET");
        unsetenv("LD_LIBRARY_PATH");
        unsetenv("USERS_OWN");
        unsetenv("LANG");
        char env[1024] = "", path[600];
        snprintf(path, sizeof(path), "%s/hook.env", f.tmp);
        FILE *in = fopen(path, "r");
        assert_non_null(in);
        env[fread(env, 1, sizeof(env) - 1, in)] = '\0';
        fclose(in);
        /* sh adds PWD (and SHLVL); everything else came from vmlaunch */
        char want[1024];
        snprintf(want, sizeof(want),
                 "LANG=C.UTF-8\n"
                 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
                 "PWD=%s\n"
                 "VMLAUNCH_STAGE=prepare/begin\n"
                 "VMLAUNCH_VM=win10\n",
                 getcwd(body, sizeof(body)));
        assert_string_equal(env, want);
        struct hostprep_report report;
        assert_int_equal(restore_fresh(&f, &report), 0);
        hostprep_report_free(&report);
        fixture_teardown(&f);
}

/* True once pid has exited (SIGKILL is delivered asynchronously: wait on its pidfd,
 * with a deadline, instead of reading its state once). */
static bool process_ends_within(pid_t pid, int timeout_ms)
{
        int fd = vl_pidfd_open(pid);
        if (fd < 0)
                return errno == ESRCH;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, timeout_ms);
        close(fd);
        return n == 1;
}

static void test_a_hung_prepare_hook_is_killed_with_what_it_started_and_rolls_back(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        f.def->hooks_timeout_s = 1;
        char *before = fixture_snapshot(&f);
        char body[1024];
        snprintf(body, sizeof(body),
                 "#!/bin/sh\nsleep 1000 &\necho $! > %s/child.pid\nexec sleep 1000\n", f.tmp);
        write_hook(&f, "prepare/begin", "10-hang", body);
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        assert_true(r < 0);
        fprintf(stderr, "%s\n", err.msg);
        assert_non_null(strstr(
                err.msg,
                "10-hang (prepare/begin) did not finish within 1 s ([hooks] timeout) and was killed"));
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        /* the sleep the hook left in the background went with it */
        char pid_text[32];
        fixture_read_tmp(&f, "child.pid", pid_text, sizeof(pid_text));
        assert_true(atoi(pid_text) > 0);
        assert_true(process_ends_within((pid_t)atoi(pid_text), 10000));
        free(before);
        free(after);
        fixture_teardown(&f);
}

/* vmlaunch's stdin may be a terminal (or a pipe) that never ends: a hook reading it
 * would wait until its timeout. Hooks read /dev/null. */
static void test_a_hook_does_not_read_vmlaunchs_stdin(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        f.def->hooks_timeout_s = 3;
        write_hook(&f, "prepare/begin", "10-read", "#!/bin/sh\ncat >/dev/null\n");
        int never_ends[2];
        assert_int_equal(pipe(never_ends), 0);
        int saved = dup(STDIN_FILENO);
        dup2(never_ends[0], STDIN_FILENO);
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        dup2(saved, STDIN_FILENO);
        close(saved);
        close(never_ends[0]);
        close(never_ends[1]);
        if (r < 0)
                fprintf(stderr, "prepare: %s\n", err.msg);
        assert_int_equal(r, 0);
        hostprep_report_free(&report);
        assert_int_equal(restore_fresh(&f, &report), 0);
        hostprep_report_free(&report);
        fixture_teardown(&f);
}

/* Runs prepare with SIGINT/SIGTERM/SIGHUP blocked, as vmlaunch does, while a SIGTERM
 * comes in (like Ctrl-C) from the fake systemd (setup_rel) or from a prepare hook. */
static void prepare_stopped_by_a_signal(const char *setup_rel, const char *hook_body,
                                        const char *message)
{
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        if (setup_rel)
                fixture_write_tmp(&f, setup_rel, "");
        char *before = fixture_snapshot(&f);
        if (hook_body)
                write_hook(&f, "prepare/begin", "10-stop", hook_body);
        f.opts.stop_on_signal = true;
        sigset_t stops, old;
        sigemptyset(&stops);
        sigaddset(&stops, SIGINT);
        sigaddset(&stops, SIGTERM);
        sigaddset(&stops, SIGHUP);
        sigprocmask(SIG_BLOCK, &stops, &old);
        struct hostprep_report report;
        struct vl_error err;
        int r = prepare(&f, &report, &err);
        fprintf(stderr, "%s\n", err.msg);
        /* the signal stays for the caller */
        const struct timespec now = {0, 0};
        assert_int_equal(sigtimedwait(&stops, NULL, &now), SIGTERM);
        sigprocmask(SIG_SETMASK, &old, NULL);
        assert_int_equal(r, -ECANCELED);
        assert_non_null(strstr(err.msg, message));
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&f);
        assert_same_tree(before, after);
        assert_false(hostprep_journal_exists(f.run));
        free(before);
        free(after);
        fixture_teardown(&f);
}

static void test_a_stop_signal_during_prepare_rolls_back_after_the_step(void **state)
{
        (void)state;
        /* the display manager is stopping: nothing after the units step is done */
        prepare_stopped_by_a_signal("fake/sigterm_on_unit_stop", NULL,
                                    "asked to stop after the units step");
}

static void test_a_stop_signal_ends_a_running_prepare_hook_and_rolls_back(void **state)
{
        (void)state;
        prepare_stopped_by_a_signal(
                NULL, "#!/bin/sh\nkill -TERM $PPID\nexec sleep 1000\n",
                "10-stop (prepare/begin) was ended: vmlaunch was asked to stop");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prepare_rtx2060_moves_group_to_vfio_and_changes_the_host),
                cmocka_unit_test(test_restore_after_prepare_rtx2060_is_byte_identical),
                cmocka_unit_test(test_restore_logs_each_device_back_on_its_driver),
                cmocka_unit_test(test_restore_after_prepare_amd_simpledrm_is_byte_identical),
                cmocka_unit_test(test_restore_returns_a_non_default_host_exactly),
                cmocka_unit_test(test_a_failure_before_every_change_of_every_step_rolls_back),
                cmocka_unit_test(test_failing_undo_is_named_and_a_second_restore_finishes),
                cmocka_unit_test(test_crash_after_each_step_then_restore_from_the_journal_alone),
                cmocka_unit_test(
                        test_a_kill_before_any_journal_record_leaves_nothing_restore_cannot_undo),
                cmocka_unit_test(test_restore_of_a_journal_with_a_torn_last_line_restores_the_rest),
                cmocka_unit_test(test_restore_without_a_journal_has_nothing_to_restore),
                cmocka_unit_test(test_prepare_refuses_while_a_journal_waits_for_restore),
                cmocka_unit_test(test_group_with_a_sata_controller_is_refused_naming_it),
                cmocka_unit_test(
                        test_isolation_without_the_cpuset_controller_is_refused_before_any_change),
                cmocka_unit_test(test_process_holding_the_gpu_is_named_with_its_unit),
                cmocka_unit_test(test_holder_that_exits_after_the_unit_stopped_is_waited_for),
                cmocka_unit_test(test_greeter_session_started_by_the_display_manager_is_waited_for),
                cmocka_unit_test(test_program_of_an_ssh_session_holding_the_gpu_names_the_session),
                cmocka_unit_test(test_gnome_shell_of_a_session_gdm_started_is_waited_for),
                cmocka_unit_test(test_user_unit_holding_the_gpu_audio_says_how_to_stop_it),
                cmocka_unit_test(
                        test_holder_surviving_the_deadline_is_named_and_prepare_rolls_back),
                cmocka_unit_test(test_hugepage_shortfall_says_reserved_n_of_m_and_frees_them),
                cmocka_unit_test(test_module_in_use_fails_before_unloading_anything),
                cmocka_unit_test(test_stuck_unbind_times_out_names_the_write_and_rolls_back),
                cmocka_unit_test(test_framebuffer_removed_by_the_kernel_is_not_rebound),
                cmocka_unit_test(test_prepare_on_an_igpu_host_leaves_its_framebuffer_bound),
                cmocka_unit_test(
                        test_prepare_on_an_igpu_host_unbinds_a_console_on_the_gpu_and_restore_rebinds_it),
                cmocka_unit_test(
                        test_hooks_run_with_vm_and_stage_and_a_failing_prepare_hook_rolls_back),
                cmocka_unit_test(
                        test_a_hung_prepare_hook_is_killed_with_what_it_started_and_rolls_back),
                cmocka_unit_test(test_a_hook_does_not_read_vmlaunchs_stdin),
                cmocka_unit_test(test_a_hook_gets_exactly_the_documented_environment),
                cmocka_unit_test(test_a_stop_signal_during_prepare_rolls_back_after_the_step),
                cmocka_unit_test(test_a_stop_signal_ends_a_running_prepare_hook_and_rolls_back),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
