/* Writes that can hang in the kernel run in a helper with a deadline. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostprep/deadline_write.h"
#include "hostprep/sysroot.h"

static int hang_forever(void *arg, struct vl_error *err)
{
        (void)arg;
        (void)err;
        for (;;)
                pause();
        return 0;
}

static int fail_with_message(void *arg, struct vl_error *err)
{
        (void)arg;
        return vl_error_set(err, EBUSY, "unbind 0000:06:00.0 from nvidia");
}

static void test_deadline_run_reports_a_hung_operation_by_name_and_returns(void **state)
{
        (void)state;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        struct vl_error err = {0};
        int r = deadline_run("writing '0000:06:00.0' to /sys/bus/pci/drivers/nvidia/unbind",
                             hang_forever, NULL, 200, &err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_int_equal(r, -ETIMEDOUT);
        assert_non_null(strstr(
                err.msg,
                "writing '0000:06:00.0' to /sys/bus/pci/drivers/nvidia/unbind did not finish within 200 ms"));
        long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
        assert_true(ms >= 200 && ms < 2000);
}

static void test_deadline_run_passes_the_helpers_error_back(void **state)
{
        (void)state;
        struct vl_error err = {0};
        assert_int_equal(deadline_run("unbind", fail_with_message, NULL, 2000, &err), -EBUSY);
        assert_string_equal(err.msg, "unbind 0000:06:00.0 from nvidia: Device or resource busy");
}

static void test_deadline_write_writes_through_the_sysroot(void **state)
{
        (void)state;
        char root[] = "/tmp/vl-deadline-XXXXXX";
        assert_non_null(mkdtemp(root));
        char path[128];
        snprintf(path, sizeof(path), "%s/sys", root);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/sys/attr", root);
        FILE *f = fopen(path, "w");
        fclose(f);
        sysroot_set(root);
        struct vl_error err = {0};
        assert_int_equal(deadline_write("/sys/attr", "vfio-pci", 2000, &err), 0);
        char line[64];
        assert_int_equal(sysroot_read_line("/sys/attr", line, sizeof(line)), 0);
        assert_string_equal(line, "vfio-pci");
        assert_true(deadline_write("/sys/missing/attr", "1", 2000, &err) < 0);
        assert_non_null(strstr(err.msg, "/sys/missing/attr"));
        sysroot_set(NULL);
        unlink(path);
        snprintf(path, sizeof(path), "%s/sys", root);
        rmdir(path);
        rmdir(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_deadline_run_reports_a_hung_operation_by_name_and_returns),
                cmocka_unit_test(test_deadline_run_passes_the_helpers_error_back),
                cmocka_unit_test(test_deadline_write_writes_through_the_sysroot),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
