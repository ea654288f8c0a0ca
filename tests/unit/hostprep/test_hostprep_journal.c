/* The journal format, and `vmlaunch restore` replaying one from a fresh process. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostprep/journal.h"
#include "hostprep_fixture.h"

static char dir[256];

static int make_dir(void **state)
{
        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/vl-journal-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
        (void)state;
        char path[300];
        snprintf(path, sizeof(path), "%s/journal", dir);
        unlink(path);
        return rmdir(dir);
}

static void write_raw(const char *text)
{
        char path[300];
        snprintf(path, sizeof(path), "%s/journal", dir);
        FILE *f = fopen(path, "w");
        fputs(text, f);
        fclose(f);
}

static void test_journal_records_round_trip_with_escaped_values(void **state)
{
        (void)state;
        struct journal *j;
        struct vl_error err = {0};
        assert_int_equal(journal_create(dir, "win 10", &j, &err), 0);
        assert_int_equal(journal_append(j, "vtconsoles",
                                        (const char *const[]){"desc", "rebind vtcon1 = 100%",
                                                              "vtcon", "vtcon1", NULL},
                                        &err),
                         0);
        assert_int_equal(journal_append(j, "units", (const char *const[]){"unit", "", NULL}, &err),
                         0);
        journal_close(j);
        struct journal_records recs;
        assert_int_equal(journal_load(dir, &recs, &err), 0);
        assert_string_equal(recs.vm_name, "win 10");
        assert_int_equal(recs.count, 2);
        assert_false(recs.torn_tail);
        assert_string_equal(recs.items[0].step, "vtconsoles");
        assert_string_equal(journal_record_get(&recs.items[0], "desc"), "rebind vtcon1 = 100%");
        assert_string_equal(journal_record_get(&recs.items[0], "vtcon"), "vtcon1");
        assert_string_equal(journal_record_get(&recs.items[1], "unit"), "");
        assert_null(journal_record_get(&recs.items[1], "missing"));
        journal_records_free(&recs);
}

static void test_journal_is_line_based_and_versioned(void **state)
{
        (void)state;
        struct journal *j;
        struct vl_error err = {0};
        assert_int_equal(journal_create(dir, "win10", &j, &err), 0);
        assert_int_equal(
                journal_append(j, "governor",
                               (const char *const[]){"cpu", "0", "governor", "schedutil", NULL},
                               &err),
                0);
        journal_close(j);
        char path[300], text[256] = "";
        snprintf(path, sizeof(path), "%s/journal", dir);
        FILE *f = fopen(path, "r");
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
        assert_string_equal(text,
                            "vmlaunch-journal 1 vm=win10\ngovernor cpu=0 governor=schedutil\n");
}

static void test_journal_create_refuses_an_existing_journal(void **state)
{
        (void)state;
        write_raw("vmlaunch-journal 1 vm=win10\n");
        struct journal *j = NULL;
        struct vl_error err = {0};
        assert_int_equal(journal_create(dir, "win10", &j, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "vmlaunch restore win10"));
}

static void test_journal_skips_a_torn_last_line(void **state)
{
        (void)state;
        write_raw("vmlaunch-journal 1 vm=win10\nvtconsoles vtcon=vtcon1\nframebuffer driver=ef");
        struct journal_records recs;
        struct vl_error err = {0};
        assert_int_equal(journal_load(dir, &recs, &err), 0);
        assert_int_equal(recs.count, 1);
        assert_true(recs.torn_tail);
        journal_records_free(&recs);
}

static void test_journal_of_another_version_is_refused_with_advice(void **state)
{
        (void)state;
        write_raw("vmlaunch-journal 2 vm=win10\nvtconsoles vtcon=vtcon1\n");
        struct journal_records recs;
        struct vl_error err = {0};
        assert_int_equal(journal_load(dir, &recs, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "journal version 2; this vmlaunch reads version 1"));
}

static void test_journal_load_without_journal_is_enoent(void **state)
{
        (void)state;
        struct journal_records recs;
        struct vl_error err = {0};
        assert_int_equal(journal_load(dir, &recs, &err), -ENOENT);
}

static int run_vmlaunch(const char *root, const char *runtime, const char *name, char *out,
                        size_t len)
{
        int fds[2];
        if (pipe(fds) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                dup2(fds[1], 1);
                dup2(fds[1], 2);
                setenv("VMLAUNCH_SYSROOT", root, 1);
                setenv("VMLAUNCH_RUNTIME_DIR", runtime, 1);
                execl(getenv("VMLAUNCH"), "vmlaunch", "restore", name, (char *)NULL);
                _exit(127);
        }
        close(fds[1]);
        size_t got = 0;
        ssize_t n;
        while (got + 1 < len && (n = read(fds[0], out + got, len - 1 - got)) > 0)
                got += (size_t)n;
        out[got] = '\0';
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_vmlaunch_restore_replays_a_journal_left_by_a_killed_run(void **state)
{
        (void)state;
        if (!getenv("VMLAUNCH")) {
                skip();
                return;
        }
        if (strcmp(getenv("TEST_SEAMS") ? getenv("TEST_SEAMS") : "", "true") != 0) {
                fprintf(stderr,
                        "skipped: vmlaunch reads VMLAUNCH_SYSROOT only when built with -Dtest-seams=true\n");
                skip();
                return;
        }
        struct fixture f;
        /* a GPU nobody holds (no unit to stop: this vmlaunch would ask the real systemd),
         * whose framebuffer fbcon draws on, so the console is unbound */
        fixture_setup(&f, "amd-2fn-simpledrm",
                      "[vm]\nname = vm\n[memory]\nsize = 1G\nhugepages = 2M\n"
                      "allocate_hugepages = yes\n[gpu]\naddress = 0c:00.0\n"
                      "[host]\nstop_units =\ngovernor_cpus = all\n");
        f.opts.crash_after_step = 6; /* killed after hugepages, governor, vtconsoles */
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_int_equal(hostprep_prepare(f.def, &f.opts, &report, &err), 0);
        hostprep_report_free(&report);
        char buf[64], runtime[400], out[4096];
        fixture_read(&f, "/sys/class/vtconsole/vtcon1/bind", buf, sizeof(buf));
        assert_string_equal(buf, "0");
        snprintf(runtime, sizeof(runtime), "%s/run", f.tmp);
        int code = run_vmlaunch(f.root, runtime, "vm", out, sizeof(out));
        fprintf(stderr, "%s", out);
        assert_int_equal(code, 0);
        assert_non_null(strstr(out, "restored the host for vm"));
        /* no fake kernel in that process: plain writes, so compare values */
        fixture_read(&f, "/sys/class/vtconsole/vtcon1/bind", buf, sizeof(buf));
        assert_string_equal(buf, "1");
        fixture_read(&f, "/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", buf, sizeof(buf));
        assert_string_equal(buf, "schedutil");
        fixture_read(&f, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", buf,
                     sizeof(buf));
        assert_string_equal(buf, "0");
        assert_false(hostprep_journal_exists(f.run));
        /* twice is harmless */
        code = run_vmlaunch(f.root, runtime, "vm", out, sizeof(out));
        assert_int_equal(code, 0);
        assert_non_null(strstr(out, "nothing to restore for vm"));
        fixture_teardown(&f);
}

/* Restore acts as root on what a journal says: one that someone else wrote or could
 * have written (a planted journal) is refused, naming it and the fix. */
static void test_journal_load_refuses_a_journal_root_cannot_trust(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        write_raw("vmlaunch-journal 1 vm=x\n");
        char path[300];
        snprintf(path, sizeof(path), "%s/journal", dir);
        struct journal_records recs;
        struct vl_error err = {0};
        assert_int_equal(chmod(path, 0666), 0);
        assert_int_equal(journal_load(dir, &recs, &err), -EPERM);
        fprintf(stderr, "%s\n", err.msg);
        assert_non_null(strstr(err.msg, "is writable by others (mode 0666)"));
        assert_non_null(strstr(err.msg, path));
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(journal_load(dir, &recs, &err), -EPERM);
        assert_non_null(strstr(err.msg, "owned by uid 65534"));
        assert_int_equal(chown(path, 0, 0), 0);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        assert_int_equal(journal_load(dir, &recs, &err), -EPERM);
        fprintf(stderr, "%s\n", err.msg);
        assert_non_null(strstr(err.msg, "refusing the journal in"));
        assert_int_equal(chown(dir, 0, 0), 0);
        /* a symlink as the journal is never followed */
        char secret[300];
        snprintf(secret, sizeof(secret), "%s.secret", dir);
        rename(path, secret);
        assert_int_equal(symlink(secret, path), 0);
        assert_int_equal(journal_load(dir, &recs, &err), -EPERM);
        assert_non_null(strstr(err.msg, "is a symlink"));
        unlink(path);
        unlink(secret);
        /* and root's own journal is read */
        write_raw("vmlaunch-journal 1 vm=x\n");
        assert_int_equal(journal_load(dir, &recs, &err), 0);
        journal_records_free(&recs);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_journal_records_round_trip_with_escaped_values,
                                                make_dir, remove_dir),
                cmocka_unit_test_setup_teardown(test_journal_is_line_based_and_versioned, make_dir,
                                                remove_dir),
                cmocka_unit_test_setup_teardown(test_journal_create_refuses_an_existing_journal,
                                                make_dir, remove_dir),
                cmocka_unit_test_setup_teardown(test_journal_skips_a_torn_last_line, make_dir,
                                                remove_dir),
                cmocka_unit_test_setup_teardown(
                        test_journal_of_another_version_is_refused_with_advice, make_dir,
                        remove_dir),
                cmocka_unit_test_setup_teardown(test_journal_load_without_journal_is_enoent,
                                                make_dir, remove_dir),
                cmocka_unit_test(test_vmlaunch_restore_replays_a_journal_left_by_a_killed_run),
                cmocka_unit_test_setup_teardown(
                        test_journal_load_refuses_a_journal_root_cannot_trust, make_dir,
                        remove_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
