/* vl_remove_tree_at on a temporary tree: everything under the name goes, nothing a
 * symlink in it points at does, and a missing name is fine. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fs.h"

static char base[64];

static void put(const char *rel)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", base, rel);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
}

static void dir(const char *rel)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", base, rel);
        assert_int_equal(mkdir(path, 0700), 0);
}

static bool exists(const char *rel)
{
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", base, rel);
        return lstat(path, &st) == 0;
}

static int setup(void **state)
{
        (void)state;
        snprintf(base, sizeof(base), "/tmp/vl-fs.XXXXXX");
        return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        return system(cmd) == 0 ? 0 : -1;
}

static void removes_a_tree_and_no_symlink_target(void **state)
{
        (void)state;
        dir("keep");
        put("keep/file");
        dir("t");
        put("t/a");
        dir("t/sub");
        put("t/sub/b");
        dir("t/sub/deeper");
        char target[PATH_MAX], link[PATH_MAX];
        snprintf(target, sizeof(target), "%s/keep", base);
        snprintf(link, sizeof(link), "%s/t/sub/to_keep", base);
        assert_int_equal(symlink(target, link), 0);
        int fd = open(base, O_RDONLY | O_DIRECTORY);
        struct vl_error err = {0};
        assert_int_equal(vl_remove_tree_at(fd, "t", &err), 0);
        assert_false(exists("t"));
        assert_true(exists("keep/file"));
        close(fd);
}

static void a_symlink_named_is_removed_not_followed(void **state)
{
        (void)state;
        dir("real");
        put("real/file");
        char target[PATH_MAX], link[PATH_MAX];
        snprintf(target, sizeof(target), "%s/real", base);
        snprintf(link, sizeof(link), "%s/link", base);
        assert_int_equal(symlink(target, link), 0);
        int fd = open(base, O_RDONLY | O_DIRECTORY);
        struct vl_error err = {0};
        assert_int_equal(vl_remove_tree_at(fd, "link", &err), 0);
        assert_false(exists("link"));
        assert_true(exists("real/file"));
        close(fd);
}

static void a_missing_name_and_a_file(void **state)
{
        (void)state;
        put("plain");
        int fd = open(base, O_RDONLY | O_DIRECTORY);
        struct vl_error err = {0};
        assert_int_equal(vl_remove_tree_at(fd, "absent", &err), 0);
        assert_int_equal(vl_remove_tree_at(fd, "plain", &err), 0);
        assert_false(exists("plain"));
        close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(removes_a_tree_and_no_symlink_target, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(a_symlink_named_is_removed_not_followed, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(a_missing_name_and_a_file, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
