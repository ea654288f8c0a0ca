/* The QEMU version cache: a fake QEMU (a shell script that answers -version
 * and counts how often it ran) is probed once, then answered from the cache
 * until the binary changes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "run/qemu_version_cache.h"

struct fixture {
        char dir[64];
        char qemu[128], other_qemu[128], cache[128], runs[128];
};

/* A fake QEMU printing VERSION; each run appends a line to f->runs. Without
 * seccomp it refuses -sandbox the way such a QEMU build does. */
static void write_fake_qemu_seccomp(const struct fixture *f, const char *path, const char *version,
                                    bool seccomp)
{
        char tmp[160];
        snprintf(tmp, sizeof(tmp), "%s.new", path);
        FILE *out = fopen(tmp, "w");
        assert_non_null(out);
        fprintf(out, "#!/bin/sh\necho run >>'%s'\n", f->runs);
        if (!seccomp)
                fprintf(out,
                        "[ \"$1\" = -sandbox ] && { echo \"$0: -sandbox on: There is no option group 'sandbox'\" >&2; exit 1; }\n");
        fprintf(out, "echo 'QEMU emulator version %s (fake)'\n", version);
        assert_int_equal(fclose(out), 0);
        assert_int_equal(chmod(tmp, 0755), 0);
        /* Replaced like a package upgrade does: a new inode. */
        assert_int_equal(rename(tmp, path), 0);
}

static void write_fake_qemu(const struct fixture *f, const char *path, const char *version)
{
        write_fake_qemu_seccomp(f, path, version, true);
}

static int count_runs(const struct fixture *f)
{
        FILE *in = fopen(f->runs, "r");
        if (!in)
                return 0;
        int n = 0;
        char line[16];
        while (fgets(line, sizeof(line), in))
                n++;
        fclose(in);
        return n;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/vl-qvc.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->qemu, sizeof(f->qemu), "%s/qemu-system-x86_64", f->dir);
        snprintf(f->other_qemu, sizeof(f->other_qemu), "%s/qemu-other", f->dir);
        snprintf(f->cache, sizeof(f->cache), "%s/.qemu-versions", f->dir);
        snprintf(f->runs, sizeof(f->runs), "%s/runs", f->dir);
        write_fake_qemu(f, f->qemu, "4.2.1");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        int r = system(cmd);
        free(f);
        return r == 0 ? 0 : -1;
}

static unsigned lookup_info(const struct fixture *f, const char *binary, bool *probed,
                            bool *seccomp)
{
        struct vl_error err = {0};
        struct qemu_binary_info info = {0};
        assert_int_equal(qemu_version_cached(binary, NULL, f->cache, &info, probed, &err), 0);
        if (seccomp)
                *seccomp = info.seccomp;
        return info.version;
}

static unsigned lookup(const struct fixture *f, const char *binary, bool *probed)
{
        return lookup_info(f, binary, probed, NULL);
}

static void test_probes_once_then_answers_from_the_cache(void **state)
{
        struct fixture *f = *state;
        bool probed = false;
        assert_int_equal(lookup(f, f->qemu, &probed), 40201);
        assert_true(probed);
        assert_int_equal(lookup(f, f->qemu, &probed), 40201);
        assert_false(probed);
        assert_int_equal(lookup(f, f->qemu, NULL), 40201);
        assert_int_equal(count_runs(f), 1);
}

static void test_seccomp_support_is_probed_and_cached_with_the_version(void **state)
{
        struct fixture *f = *state;
        bool probed = false, seccomp = false;
        assert_int_equal(lookup_info(f, f->qemu, &probed, &seccomp), 40201);
        assert_true(seccomp);
        write_fake_qemu_seccomp(f, f->other_qemu, "7.2.0", false);
        assert_int_equal(lookup_info(f, f->other_qemu, &probed, &seccomp), 70200);
        assert_true(probed);
        assert_false(seccomp);
        assert_int_equal(lookup_info(f, f->other_qemu, &probed, &seccomp), 70200);
        assert_false(probed);
        assert_false(seccomp);
        assert_int_equal(lookup_info(f, f->qemu, &probed, &seccomp), 40201);
        assert_true(seccomp);
        /* One run for the seccomp QEMU, two (with and without -sandbox) for the other. */
        assert_int_equal(count_runs(f), 3);
}

static void test_a_replaced_binary_is_probed_again(void **state)
{
        struct fixture *f = *state;
        bool probed = false;
        assert_int_equal(lookup(f, f->qemu, &probed), 40201);
        write_fake_qemu(f, f->qemu, "7.2.22");
        assert_int_equal(lookup(f, f->qemu, &probed), 70222);
        assert_true(probed);
        assert_int_equal(lookup(f, f->qemu, &probed), 70222);
        assert_false(probed);
        assert_int_equal(count_runs(f), 2);

        /* One line per binary: the old one was replaced. */
        FILE *in = fopen(f->cache, "r");
        assert_non_null(in);
        char line[512];
        int lines = 0;
        while (fgets(line, sizeof(line), in))
                lines++;
        fclose(in);
        assert_int_equal(lines, 1);
}

static void test_each_binary_keeps_its_own_entry(void **state)
{
        struct fixture *f = *state;
        write_fake_qemu(f, f->other_qemu, "8.0.0");
        bool probed = false;
        assert_int_equal(lookup(f, f->qemu, &probed), 40201);
        assert_int_equal(lookup(f, f->other_qemu, &probed), 80000);
        assert_int_equal(lookup(f, f->qemu, &probed), 40201);
        assert_false(probed);
        assert_int_equal(lookup(f, f->other_qemu, &probed), 80000);
        assert_false(probed);
        assert_int_equal(count_runs(f), 2);
}

static void test_a_cache_others_can_write_is_not_trusted(void **state)
{
        struct fixture *f = *state;
        bool probed = false;
        assert_int_equal(lookup(f, f->qemu, &probed), 40201);
        assert_int_equal(chmod(f->cache, 0666), 0);
        assert_int_equal(lookup(f, f->qemu, &probed), 40201);
        assert_true(probed);
        /* ...and is replaced by a private one. */
        struct stat st;
        assert_int_equal(stat(f->cache, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
}

static void test_an_unwritable_cache_only_costs_a_probe(void **state)
{
        struct fixture *f = *state;
        struct vl_error err = {0};
        struct qemu_binary_info info = {0};
        bool probed = false;
        assert_int_equal(qemu_version_cached(f->qemu, NULL, "/nonexistent-dir/.qemu-versions",
                                             &info, &probed, &err),
                         0);
        assert_int_equal(info.version, 40201);
        assert_true(probed);
}

static void test_a_missing_binary_is_named(void **state)
{
        struct fixture *f = *state;
        struct vl_error err = {0};
        struct qemu_binary_info info = {0};
        char missing[160];
        snprintf(missing, sizeof(missing), "%s/no-such-qemu", f->dir);
        assert_int_equal(qemu_version_cached(missing, NULL, f->cache, &info, NULL, &err), -ENOENT);
        assert_non_null(strstr(err.msg, missing));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_probes_once_then_answers_from_the_cache, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_seccomp_support_is_probed_and_cached_with_the_version, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_a_replaced_binary_is_probed_again, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_each_binary_keeps_its_own_entry, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_cache_others_can_write_is_not_trusted, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_an_unwritable_cache_only_costs_a_probe, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_missing_binary_is_named, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
