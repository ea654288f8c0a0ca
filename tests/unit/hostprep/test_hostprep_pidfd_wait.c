/* The default process ops wait on real pidfds: children of this test, one that exits
 * and one that outlives a short deadline. No sysfs is involved. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostprep/holders.h"
#include "hostprep/hostprep.h"
#include "util/clock.h"
#include "util/pidfd.h"

/* A child that exits when the write end of its pipe closes; returns the write end.
 * other: a write end of an earlier child's pipe, closed in this child (-1: none). */
static pid_t spawn_waiter(int *write_end, int other)
{
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[1]);
                if (other >= 0)
                        close(other);
                char c;
                while (read(p[0], &c, 1) > 0)
                        ;
                _exit(0);
        }
        close(p[0]);
        *write_end = p[1];
        return pid;
}

static void test_pidfd_wait_sees_an_exit_and_names_a_process_past_the_deadline(void **state)
{
        (void)state;
        int fd = vl_pidfd_open(getpid());
        if (fd < 0 && errno == ENOSYS)
                skip(); /* Linux < 5.3 */
        close(fd);
        int end_a, end_b;
        pid_t a = spawn_waiter(&end_a, -1);
        pid_t b = spawn_waiter(&end_b, end_a);
        close(end_a); /* a exits now; b waits for us */
        int pids[2] = {a, b};
        bool exited[2] = {false, false};
        struct vl_error err = {0};
        uint64_t start = vl_monotonic_ms();
        assert_int_equal(
                hostprep_pidfd_processes.wait_exit(NULL, pids, 2, start + 300, exited, &err), 0);
        uint64_t took = vl_monotonic_ms() - start;
        assert_true(exited[0]);
        assert_false(exited[1]);
        assert_true(took >= 300 && took < 2000); /* waited out the deadline for b, no longer */
        close(end_b);
        assert_int_equal(waitpid(b, NULL, 0), b);
        assert_int_equal(waitpid(a, NULL, 0), a);
        /* a reaped process is gone at once */
        exited[0] = false;
        assert_int_equal(hostprep_pidfd_processes.wait_exit(NULL, pids, 1, vl_monotonic_ms() + 5000,
                                                            exited, &err),
                         0);
        assert_true(exited[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(
                        test_pidfd_wait_sees_an_exit_and_names_a_process_past_the_deadline),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
