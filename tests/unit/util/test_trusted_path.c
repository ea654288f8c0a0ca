/* The trusted walk on a temporary tree: who owns and who may write each directory,
 * and where a symlink sits, decide what is followed. Changing owners needs root; as
 * another user those tests are skipped (a unit test of the rule for one's own files
 * stays). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/trusted_path.h"

#define NOBODY 65534

struct tree {
        char dir[64];
};

static void mk(const struct tree *t, const char *rel, mode_t mode, uid_t uid)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
        if (mode & S_IFDIR) {
                assert_int_equal(mkdir(path, 0700), 0);
        } else {
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
                assert_true(fd >= 0);
                close(fd);
        }
        assert_int_equal(chmod(path, mode & 07777), 0);
        assert_int_equal(lchown(path, uid, uid), 0);
}

static void ln(const struct tree *t, const char *rel, const char *target, uid_t uid)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
        assert_int_equal(symlink(target, path), 0);
        assert_int_equal(lchown(path, uid, uid), 0);
}

static int setup(void **state)
{
        if (geteuid() != 0)
                return 0;
        struct tree *t = calloc(1, sizeof(*t));
        snprintf(t->dir, sizeof(t->dir), "/tmp/vl-trust.XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        chmod(t->dir, 0755);
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct tree *t = *state;
        if (!t)
                return 0;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
        assert_int_equal(system(cmd), 0);
        free(t);
        return 0;
}

/* Walks DIR/rel; returns the result, *msg the error (or the resolved path). */
static int walk(const struct tree *t, const char *rel, const struct vl_trust_opts *opts, char *msg,
                size_t len)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
        struct vl_trusted out;
        struct vl_error err = {0};
        int r = vl_trusted_open(path, opts, &out, &err);
        const char *said = r == 0 ? out.path : err.msg;
        size_t n = strnlen(said, len - 1);
        memcpy(msg, said, n); /* cut to fit, as the tests' messages are short */
        msg[n] = '\0';
        if (r == 0) {
                assert_true(out.fd >= 0);
                close(out.fd);
        } else {
                assert_int_equal(out.fd, -1);
        }
        fprintf(stderr, "  %s -> %d %s\n", rel, r, msg);
        return r;
}

#define NEED_ROOT(state)                                                                           \
        do {                                                                                       \
                if (!*(state))                                                                     \
                        skip();                                                                    \
        } while (0)

static const struct vl_trust_opts owned = {.mode = VL_TRUST_OWNED};
static const struct vl_trust_opts owned_no_link = {.mode = VL_TRUST_OWNED,
                                                   .no_final_symlink = true};
static const struct vl_trust_opts symlinks = {.mode = VL_TRUST_SYMLINKS};

static void test_root_owned_tree_is_trusted(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "etc", S_IFDIR | 0755, 0);
        mk(t, "etc/hook", 0755, 0);
        char msg[1024], want[PATH_MAX];
        assert_int_equal(walk(t, "etc/hook", &owned, msg, sizeof(msg)), 0);
        snprintf(want, sizeof(want), "%s/etc/hook", t->dir);
        assert_string_equal(msg, want);
}

static void test_user_owned_directory_is_refused_naming_it_and_the_chown(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "hooks", S_IFDIR | 0755, NOBODY);
        mk(t, "hooks/x", 0755, 0);
        char msg[1024], want[PATH_MAX * 2];
        assert_int_equal(walk(t, "hooks/x", &owned, msg, sizeof(msg)), -EPERM);
        snprintf(want, sizeof(want), "%s/hooks is owned by uid 65534, not root", t->dir);
        assert_non_null(strstr(msg, want));
        snprintf(want, sizeof(want), "chown root:root %s/hooks`", t->dir);
        assert_non_null(strstr(msg, want));
}

static void test_user_owned_object_is_refused(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "x", 0755, NOBODY);
        char msg[1024];
        assert_int_equal(walk(t, "x", &owned, msg, sizeof(msg)), -EPERM);
        assert_non_null(strstr(msg, "/x is owned by uid 65534"));
}

static void test_world_writable_directory_is_refused_with_the_chmod(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "stage", S_IFDIR | 0777, 0);
        mk(t, "stage/x", 0755, 0);
        char msg[1024], want[PATH_MAX * 2];
        assert_int_equal(walk(t, "stage/x", &owned, msg, sizeof(msg)), -EPERM);
        snprintf(want, sizeof(want), "%s/stage is writable by others (mode 0777)", t->dir);
        assert_non_null(strstr(msg, want));
        snprintf(want, sizeof(want), "chmod go-w %s/stage`", t->dir);
        assert_non_null(strstr(msg, want));
        /* group-writable is no better */
        mk(t, "grp", S_IFDIR | 0775, 0);
        mk(t, "grp/x", 0755, 0);
        assert_int_equal(walk(t, "grp/x", &owned, msg, sizeof(msg)), -EPERM);
        assert_non_null(strstr(msg, "writable by its group (mode 0775)"));
}

/* Like /tmp: nobody else can rename or remove root's entries in it, so it is passed
 * on the way to something of root's, never to something of a user's, and is never
 * trusted as the object itself (anyone can add to it). */
static void test_sticky_world_writable_directory_passes_only_roots_entries(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "tmp", S_IFDIR | 01777, 0);
        mk(t, "tmp/root", S_IFDIR | 0755, 0);
        mk(t, "tmp/root/x", 0644, 0);
        mk(t, "tmp/user", S_IFDIR | 0755, NOBODY);
        mk(t, "tmp/user/x", 0644, 0);
        char msg[1024];
        assert_int_equal(walk(t, "tmp/root/x", &owned, msg, sizeof(msg)), 0);
        assert_int_equal(walk(t, "tmp/user/x", &owned, msg, sizeof(msg)), -EPERM);
        assert_non_null(strstr(msg, "/tmp/user is owned by uid 65534"));
        assert_int_equal(walk(t, "tmp", &owned, msg, sizeof(msg)), -EPERM);
        assert_non_null(strstr(msg, "/tmp is writable by others (mode 1777)"));
        /* and a sticky directory that is not root's is a user's directory */
        mk(t, "utmp", S_IFDIR | 01777, NOBODY);
        mk(t, "utmp/x", 0644, 0);
        assert_int_equal(walk(t, "utmp/x", &owned, msg, sizeof(msg)), -EPERM);
}

static void test_symlink_in_a_user_directory_is_refused(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "secret", 0600, 0);
        mk(t, "home", S_IFDIR | 0755, NOBODY);
        mk(t, "home/disk.img", 0644, NOBODY);
        char target[PATH_MAX];
        snprintf(target, sizeof(target), "%s/secret", t->dir);
        ln(t, "home/link.img", target, NOBODY);
        char msg[1024], want[PATH_MAX * 2];
        /* the user's own file in the user's directory: fine for what root only hands over */
        assert_int_equal(walk(t, "home/disk.img", &symlinks, msg, sizeof(msg)), 0);
        assert_int_equal(walk(t, "home/link.img", &symlinks, msg, sizeof(msg)), -EPERM);
        snprintf(want, sizeof(want), "%s/home/link.img is a symlink (to %s) in %s/home", t->dir,
                 target, t->dir);
        assert_non_null(strstr(msg, want));
        assert_non_null(strstr(msg, "give the real path instead of the symlink"));
        /* a user's symlink to a directory on the way is refused the same */
        ln(t, "home/d", t->dir, NOBODY);
        assert_int_equal(walk(t, "home/d/secret", &symlinks, msg, sizeof(msg)), -EPERM);
        /* a user's symlink in a sticky directory of root's (/tmp) too */
        mk(t, "tmp", S_IFDIR | 01777, 0);
        ln(t, "tmp/link", target, NOBODY);
        assert_int_equal(walk(t, "tmp/link", &symlinks, msg, sizeof(msg)), -EPERM);
}

static void test_symlink_in_a_root_directory_is_followed(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "dev", S_IFDIR | 0755, 0);
        mk(t, "dev/input", S_IFDIR | 0755, 0);
        mk(t, "dev/input/by-id", S_IFDIR | 0755, 0);
        mk(t, "dev/input/event3", 0640, 0);
        ln(t, "dev/input/by-id/kbd", "../event3", 0);
        ln(t, "dev/abs", t->dir, 0);
        char msg[1024], want[PATH_MAX];
        assert_int_equal(walk(t, "dev/input/by-id/kbd", &symlinks, msg, sizeof(msg)), 0);
        snprintf(want, sizeof(want), "%s/dev/input/event3", t->dir);
        assert_string_equal(msg, want);
        assert_int_equal(walk(t, "dev/input/by-id/kbd", &owned, msg, sizeof(msg)), 0);
        assert_string_equal(msg, want);
        assert_int_equal(walk(t, "dev/abs/dev/input/event3", &owned, msg, sizeof(msg)), 0);
        assert_string_equal(msg, want);
        /* a root-owned symlink in root's sticky directory */
        mk(t, "tmp", S_IFDIR | 01777, 0);
        ln(t, "tmp/link", "../dev/input/event3", 0);
        assert_int_equal(walk(t, "tmp/link", &owned, msg, sizeof(msg)), 0);
}

static void test_final_symlink_is_refused_when_asked(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "bin", S_IFDIR | 0755, 0);
        mk(t, "bin/real", 0755, 0);
        ln(t, "bin/hook", "real", 0);
        char msg[1024], want[PATH_MAX * 2];
        assert_int_equal(walk(t, "bin/hook", &owned, msg, sizeof(msg)), 0);
        assert_int_equal(walk(t, "bin/hook", &owned_no_link, msg, sizeof(msg)), -EPERM);
        snprintf(want, sizeof(want),
                 "%s/bin/hook is a symlink (to real); give the real path instead of the symlink",
                 t->dir);
        assert_string_equal(msg, want);
}

static int count_dirs(void *userdata, const char *path, const struct stat *st)
{
        (void)path;
        assert_true(S_ISDIR(st->st_mode));
        (*(int *)userdata)++;
        return 0;
}

/* The hand-over step checks that QEMU's user can pass each directory on the way. */
static void test_every_directory_on_the_way_is_visited(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        mk(t, "a", S_IFDIR | 0755, 0);
        mk(t, "a/b", S_IFDIR | 0755, 0);
        mk(t, "a/b/f", 0644, 0);
        int n = 0, depth = 0;
        struct vl_trust_opts opts = {
                .mode = VL_TRUST_OWNED, .visit_dir = count_dirs, .userdata = &n};
        char msg[1024];
        assert_int_equal(walk(t, "a/b/f", &opts, msg, sizeof(msg)), 0);
        for (const char *p = msg; *p; p++)
                depth += *p == '/';
        assert_int_equal(n, depth - 1); /* every directory below / */
}

static void test_missing_component_is_enoent(void **state)
{
        NEED_ROOT(state);
        struct tree *t = *state;
        char msg[1024];
        assert_int_equal(walk(t, "nothing/here", &owned, msg, sizeof(msg)), -ENOENT);
        assert_non_null(strstr(msg, "/nothing: No such file or directory"));
}

static void test_relative_path_is_refused(void **state)
{
        (void)state;
        struct vl_trusted out;
        struct vl_error err = {0};
        assert_int_equal(vl_trusted_open("etc/x", &owned, &out, &err), -EINVAL);
        assert_int_equal(out.fd, -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_root_owned_tree_is_trusted, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_user_owned_directory_is_refused_naming_it_and_the_chown, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_user_owned_object_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_world_writable_directory_is_refused_with_the_chmod, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_sticky_world_writable_directory_passes_only_roots_entries, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_symlink_in_a_user_directory_is_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_symlink_in_a_root_directory_is_followed, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_final_symlink_is_refused_when_asked, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_every_directory_on_the_way_is_visited, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_missing_component_is_enoent, setup, teardown),
                cmocka_unit_test(test_relative_path_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
