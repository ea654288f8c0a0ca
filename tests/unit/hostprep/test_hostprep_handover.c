/* The hand-over step on the rtx2060 fixture with a disk and a UEFI vars file: QEMU's
 * user owns what QEMU writes while the VM runs, and every owner, group and mode comes
 * back exactly, after a failure, a failed undo, or a kill before any journal record. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostprep/steps.h"
#include "hostprep_defs.h"
#include "hostprep_fixture.h"
#include "util/account.h"

/* Owners that are nobody's on purpose: restore must not "fix" them to anything. */
#define DISK_UID  1234
#define DISK_GID  5678
#define DISK_MODE 0440
#define EVENT_GID 105 /* like the input group */

struct files {
        char dir[64];
        char disk[128], vars[128], vfio[PATH_MAX], event[PATH_MAX];
        struct vl_account qemu;
        struct fixture f;
};

static void make_file(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "data", 4), 4);
        close(fd);
        assert_int_equal(chown(path, uid, gid), 0);
        assert_int_equal(chmod(path, mode), 0);
}

/* The rtx2060 VM with one disk of a user's (in a folder QEMU's user can pass) and a
 * vars file of root's; extra: more INI text. */
static void setup_files(struct files *t, const char *extra)
{
        struct vl_error err = {0};
        if (geteuid() != 0 || vl_account_lookup(VMDEF_DEFAULT_QEMU_USER, &t->qemu, &err) < 0)
                skip(); /* owners are changed: root, and the account, are needed */
        snprintf(t->dir, sizeof(t->dir), "/tmp/vl-handover-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        assert_int_equal(chmod(t->dir, 0755), 0);
        snprintf(t->disk, sizeof(t->disk), "%s/disk.img", t->dir);
        snprintf(t->vars, sizeof(t->vars), "%s/VARS.fd", t->dir);
        make_file(t->disk, DISK_UID, DISK_GID, DISK_MODE);
        make_file(t->vars, 0, 0, 0600);
        char ini[4096];
        snprintf(ini, sizeof(ini),
                 DEF_RTX2060 "[evdev.kbd]\npath = /dev/input/by-id/usb-kbd-event-kbd\n"
                             "[disk.system]\npath = %s\n[firmware]\nvars = %s\n%s",
                 t->disk, t->vars, extra ? extra : "");
        fixture_setup(&t->f, "rtx2060-4fn", ini);
        snprintf(t->vfio, sizeof(t->vfio), "%s/dev/vfio/14", t->f.root);
        /* an evdev node named by udev's by-id symlink, in /dev of the fixture */
        char dir[PATH_MAX / 2], link[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/dev/input/by-id", t->f.root);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
        assert_int_equal(system(cmd), 0);
        snprintf(t->event, sizeof(t->event), "%s/dev/input/event3", t->f.root);
        assert_int_equal(mknod(t->event, S_IFCHR | 0660, makedev(1, 3)), 0);
        assert_int_equal(chown(t->event, 0, EVENT_GID), 0);
        assert_int_equal(chmod(t->event, 0660), 0);
        snprintf(link, sizeof(link), "%s/usb-kbd-event-kbd", dir);
        assert_int_equal(symlink("../event3", link), 0);
}

static void teardown_files(struct files *t)
{
        fixture_teardown(&t->f);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
        assert_int_equal(system(cmd), 0);
        vl_account_free(&t->qemu);
}

static void assert_owner(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)
                fprintf(stderr, "%s: %u:%u %04o, expected %u:%u %04o\n", path, (unsigned)st.st_uid,
                        (unsigned)st.st_gid, st.st_mode & 07777, (unsigned)uid, (unsigned)gid,
                        mode);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
        assert_int_equal(st.st_mode & 07777, mode);
}

static void assert_as_before(const struct files *t)
{
        assert_owner(t->event, 0, EVENT_GID, 0660);
        assert_owner(t->disk, DISK_UID, DISK_GID, DISK_MODE);
        assert_owner(t->vars, 0, 0, 0600);
}

static int restore_fresh(struct files *t, struct hostprep_report *report, const char *fail_undo)
{
        struct hostprep_options fresh = {.run_dir = t->f.run,
                                         .units = t->f.opts.units,
                                         .modules = t->f.opts.modules,
                                         .timeout_ms = 2000,
                                         .fail_undo = fail_undo};
        struct vl_error err = {0};
        int r = hostprep_restore(&fresh, report, &err);
        if (r < 0)
                fprintf(stderr, "restore: %s\n", err.msg);
        return r;
}

static void test_qemus_user_owns_what_qemu_writes_and_everything_comes_back(void **state)
{
        (void)state;
        struct files t;
        setup_files(&t, NULL);
        char *before = fixture_snapshot(&t.f);
        struct hostprep_report report;
        struct vl_error err = {0};
        int r = hostprep_prepare(t.f.def, &t.f.opts, &report, &err);
        if (r < 0)
                fprintf(stderr, "prepare: %s\n", err.msg);
        assert_int_equal(r, 0);
        hostprep_report_free(&report);
        /* owner read-write added to the read-only 0440 disk; the rest keeps its mode */
        assert_owner(t.disk, t.qemu.uid, t.qemu.gid, 0640);
        assert_owner(t.vars, t.qemu.uid, t.qemu.gid, 0600);
        assert_owner(t.vfio, t.qemu.uid, t.qemu.gid, 0600);
        assert_owner(t.event, t.qemu.uid, t.qemu.gid, 0660); /* the node, not the symlink */
        assert_int_equal(restore_fresh(&t, &report, NULL), 0);
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        assert_as_before(&t);
        char *after = fixture_snapshot(&t.f);
        assert_string_equal(before, after); /* /dev/vfio/14 went with vfio-pci */
        free(before);
        free(after);
        teardown_files(&t);
}

/* /dev/vfio/vfio: udev makes it 0666 on most hosts and then it is left alone; where
 * it is root's alone, QEMU's user gets it for the run and it comes back exactly. */
static void test_the_vfio_container_is_handed_over_only_when_its_mode_shuts_qemu_out(void **state)
{
        (void)state;
        static const mode_t modes[] = {0600, 0666};
        for (size_t i = 0; i < 2; i++) {
                struct files t;
                setup_files(&t, NULL);
                char container[PATH_MAX], cmd[PATH_MAX + 16];
                snprintf(container, sizeof(container), "%s/dev/vfio/vfio", t.f.root);
                snprintf(cmd, sizeof(cmd), "mkdir -p %s/dev/vfio", t.f.root);
                assert_int_equal(system(cmd), 0);
                assert_int_equal(mknod(container, S_IFCHR | 0600, makedev(10, 196)), 0);
                assert_int_equal(chmod(container, modes[i]), 0);
                struct hostprep_report report;
                struct vl_error err = {0};
                assert_int_equal(hostprep_prepare(t.f.def, &t.f.opts, &report, &err), 0);
                hostprep_report_free(&report);
                if (modes[i] == 0600)
                        assert_owner(container, t.qemu.uid, t.qemu.gid, 0600);
                else
                        assert_owner(container, 0, 0, 0666);
                assert_int_equal(restore_fresh(&t, &report, NULL), 0);
                assert_int_equal(report.n_failures, 0);
                hostprep_report_free(&report);
                assert_owner(container, 0, 0, modes[i]);
                assert_as_before(&t);
                teardown_files(&t);
        }
}

/* Killed right before its n-th journal record (SIGKILL in a child): the n-th file is
 * untouched (its change comes after its record), the ones before it are handed over,
 * and restore from the journal alone gives them back. */
static void test_each_change_is_journaled_before_it_is_made(void **state)
{
        (void)state;
        const char *order[] = {"vfio", "evdev", "disk", "vars"};
        size_t k = step_index("handover");
        assert_true(k > 0);
        for (unsigned n = 1; n <= 5; n++) {
                struct files t;
                setup_files(&t, NULL);
                char *before = fixture_snapshot(&t.f);
                char point[32];
                snprintf(point, sizeof(point), "%zu:%u", k, n);
                t.f.opts.kill_before_record = point;
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        struct hostprep_report report;
                        struct vl_error err;
                        _exit(hostprep_prepare(t.f.def, &t.f.opts, &report, &err) == 0 ? 0 : 1);
                }
                int status = 0;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
                fprintf(stderr, "killed before record %u: %s\n", n, killed ? "yes" : "no");
                assert_true(killed == (n <= 4)); /* four files, four records */
                for (unsigned i = 1; i <= 4; i++) {
                        const char *paths[] = {t.vfio, t.event, t.disk, t.vars};
                        const char *path = paths[i - 1];
                        struct stat st;
                        assert_int_equal(stat(path, &st), 0);
                        bool handed = st.st_uid == t.qemu.uid;
                        fprintf(stderr, "  %s handed over: %d\n", order[i - 1], handed);
                        assert_true(handed == (i < n));
                }
                struct hostprep_report report;
                assert_int_equal(restore_fresh(&t, &report, NULL), 0);
                hostprep_report_free(&report);
                assert_as_before(&t);
                char *after = fixture_snapshot(&t.f);
                assert_string_equal(before, after);
                free(before);
                free(after);
                teardown_files(&t);
        }
}

/* VMLAUNCH_FAIL_STEP=handover:n: a failure before each change rolls everything back. */
static void test_a_failure_before_each_hand_over_rolls_back(void **state)
{
        (void)state;
        for (unsigned n = 1; n <= 5; n++) {
                struct files t;
                setup_files(&t, NULL);
                char *before = fixture_snapshot(&t.f);
                char point[32];
                snprintf(point, sizeof(point), "handover:%u", n);
                t.f.opts.fail_step = point;
                struct hostprep_report report;
                struct vl_error err = {0};
                assert_true(hostprep_prepare(t.f.def, &t.f.opts, &report, &err) < 0);
                fprintf(stderr, "%s: %s\n", point, err.msg);
                assert_non_null(strstr(err.msg, "handover: injected failure"));
                assert_int_equal(report.n_failures, 0);
                hostprep_report_free(&report);
                assert_as_before(&t);
                char *after = fixture_snapshot(&t.f);
                assert_string_equal(before, after);
                assert_false(hostprep_journal_exists(t.f.run));
                free(before);
                free(after);
                teardown_files(&t);
        }
}

/* VMLAUNCH_FAIL_UNDO=handover: named, the journal kept, and the next restore finishes. */
static void test_a_failed_give_back_is_named_and_the_next_restore_finishes(void **state)
{
        (void)state;
        struct files t;
        setup_files(&t, NULL);
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_int_equal(hostprep_prepare(t.f.def, &t.f.opts, &report, &err), 0);
        hostprep_report_free(&report);
        assert_true(restore_fresh(&t, &report, "handover") < 0);
        assert_true(report.journal_kept);
        size_t named = 0;
        for (size_t i = 0; i < report.n_failures; i++)
                named += strncmp(report.failures[i], "handover: could not give ", 25) == 0;
        assert_int_equal(named, 4);
        hostprep_report_free(&report);
        assert_owner(t.disk, t.qemu.uid, t.qemu.gid, 0640);
        assert_int_equal(restore_fresh(&t, &report, NULL), 0);
        hostprep_report_free(&report);
        assert_as_before(&t);
        teardown_files(&t);
}

/* A file swapped after the hand-over is not someone else's to change: left alone. */
static void test_a_file_replaced_meanwhile_is_left_alone(void **state)
{
        (void)state;
        struct files t;
        setup_files(&t, NULL);
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_int_equal(hostprep_prepare(t.f.def, &t.f.opts, &report, &err), 0);
        hostprep_report_free(&report);
        /* made before the old one is gone, so it cannot reuse its inode */
        char other[160];
        snprintf(other, sizeof(other), "%s.other", t.disk);
        make_file(other, 4321, 4321, 0644);
        assert_int_equal(rename(other, t.disk), 0);
        assert_int_equal(unlink(t.vars), 0); /* gone: logged, not an error */
        assert_int_equal(restore_fresh(&t, &report, NULL), 0);
        assert_int_equal(report.n_failures, 0);
        hostprep_report_free(&report);
        assert_owner(t.disk, 4321, 4321, 0644);
        teardown_files(&t);
}

static char *check_text(struct files *t)
{
        struct hostprep_report report;
        struct vl_error err = {0};
        hostprep_check(t->f.def, &t->f.opts, &report, &err);
        char *all = calloc(1, 8192);
        for (size_t i = 0; i < report.n_failures; i++) {
                strncat(all, report.failures[i], 8191 - strlen(all));
                strncat(all, "\n", 8191 - strlen(all));
        }
        fprintf(stderr, "check:\n%s", all);
        hostprep_report_free(&report);
        return all;
}

/* "a user's symlink given as a disk gave the guest a root-only file" */
static void test_a_users_symlink_as_a_disk_is_refused_before_any_change(void **state)
{
        (void)state;
        struct files t;
        char extra[512], user_dir[128], link[160], secret[160];
        snprintf(user_dir, sizeof(user_dir), "/tmp/vl-handover-user-%d", (int)getpid());
        snprintf(link, sizeof(link), "%s/link.img", user_dir);
        snprintf(extra, sizeof(extra), "[disk.data]\npath = %s\n", link);
        setup_files(&t, extra);
        snprintf(secret, sizeof(secret), "%s/secret", t.dir);
        make_file(secret, 0, 0, 0600);
        assert_int_equal(mkdir(user_dir, 0755), 0);
        assert_int_equal(chown(user_dir, 65534, 65534), 0);
        assert_int_equal(symlink(secret, link), 0);
        assert_int_equal(lchown(link, 65534, 65534), 0);
        struct vl_strv problems = {0};
        assert_int_equal(hostprep_check_handover(t.f.def, &problems), 0);
        assert_int_equal(problems.count, 1);
        fprintf(stderr, "%s\n", problems.items[0]);
        assert_non_null(strstr(problems.items[0], "[disk.data] path"));
        assert_non_null(strstr(problems.items[0], "give the real path instead of the symlink"));
        vl_strv_free(&problems);
        char *text = check_text(&t);
        assert_non_null(strstr(text, link));
        free(text);
        char *before = fixture_snapshot(&t.f);
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_true(hostprep_prepare(t.f.def, &t.f.opts, &report, &err) < 0);
        hostprep_report_free(&report);
        char *after = fixture_snapshot(&t.f);
        assert_string_equal(before, after);
        assert_owner(secret, 0, 0, 0600);
        assert_as_before(&t);
        free(before);
        free(after);
        unlink(link);
        rmdir(user_dir);
        teardown_files(&t);
}

/* mktemp's 0700 folders: QEMU's user could not open a disk in one; check says which
 * folder and the chmod. Read-only inputs must be readable by it as they are. */
static void test_a_folder_qemus_user_cannot_pass_is_named_with_the_chmod(void **state)
{
        (void)state;
        struct files t;
        char extra[512], priv[128], disk[160], iso[160], want[1024];
        snprintf(priv, sizeof(priv), "/tmp/vl-handover-private-%d", (int)getpid());
        snprintf(disk, sizeof(disk), "%s/data.img", priv);
        snprintf(iso, sizeof(iso), "/tmp/vl-handover-iso-%d.iso", (int)getpid());
        snprintf(extra, sizeof(extra),
                 "[disk.data]\npath = %s\n[disk.cd]\npath = %s\nmedia = cdrom\nbus = sata\n", disk,
                 iso);
        setup_files(&t, extra);
        assert_int_equal(mkdir(priv, 0700), 0);
        make_file(disk, 0, 0, 0600);
        make_file(iso, 0, 0, 0600);
        char *text = check_text(&t);

        snprintf(
                want, sizeof(want),
                "[disk.data] path %s: QEMU's user vmlaunch-qemu cannot pass the folder %s (mode 0700, owner uid 0, group 0): fix with `chmod o+x %s`",
                disk, priv, priv);
        assert_non_null(strstr(text, want));
        snprintf(want, sizeof(want),
                 "[disk.cd] path %s: QEMU's user vmlaunch-qemu cannot read it (mode 0600", iso);
        assert_non_null(strstr(text, want));
        free(text);
        assert_int_equal(chmod(priv, 0711), 0);
        assert_int_equal(chmod(iso, 0644), 0);
        text = check_text(&t);
        assert_null(strstr(text, "QEMU's user"));
        free(text);
        unlink(disk);
        rmdir(priv);
        unlink(iso);
        teardown_files(&t);
}

static void test_qemu_as_root_gets_nothing_handed_over_and_plan_says_why(void **state)
{
        (void)state;
        struct files t;
        setup_files(&t, "[qemu]\nuser = root\n");
        struct hostprep_plan plan;
        struct vl_error err = {0};
        assert_int_equal(hostprep_plan(t.f.def, &t.f.opts, &plan, &err), 0);
        char *text = fixture_plan_text(&plan);
        assert_non_null(strstr(
                text, "handover: nothing handed over: QEMU runs as root ([qemu] user = root)"));
        free(text);
        hostprep_plan_free(&plan);
        struct hostprep_report report;
        assert_int_equal(hostprep_prepare(t.f.def, &t.f.opts, &report, &err), 0);
        hostprep_report_free(&report);
        assert_as_before(&t);
        assert_owner(t.vfio, 0, 0, 0600);
        assert_int_equal(restore_fresh(&t, &report, NULL), 0);
        hostprep_report_free(&report);
        teardown_files(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_qemus_user_owns_what_qemu_writes_and_everything_comes_back),
                cmocka_unit_test(
                        test_the_vfio_container_is_handed_over_only_when_its_mode_shuts_qemu_out),
                cmocka_unit_test(test_each_change_is_journaled_before_it_is_made),
                cmocka_unit_test(test_a_failure_before_each_hand_over_rolls_back),
                cmocka_unit_test(test_a_failed_give_back_is_named_and_the_next_restore_finishes),
                cmocka_unit_test(test_a_file_replaced_meanwhile_is_left_alone),
                cmocka_unit_test(test_a_users_symlink_as_a_disk_is_refused_before_any_change),
                cmocka_unit_test(test_a_folder_qemus_user_cannot_pass_is_named_with_the_chmod),
                cmocka_unit_test(test_qemu_as_root_gets_nothing_handed_over_and_plan_says_why),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
