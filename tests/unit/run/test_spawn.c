/* spawn_qemu's before_exec: it runs while the child waits, before the child sets its
 * affinity and execs (isolate_cpus moves QEMU to machine.slice there, and a cgroup move
 * resets affinities), and its failure ends the child. Runs /bin/sh instead of QEMU. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "run/spawn.h"

struct seen {
        pid_t child;
        char exe[512];
};

/* Widens the waiting child's affinity to every CPU, as a cgroup move would. */
static int widen_affinity(void *userdata, pid_t child, struct vl_error *err)
{
        (void)err;
        struct seen *s = userdata;
        s->child = child;
        char link[64];
        snprintf(link, sizeof(link), "/proc/%d/exe", (int)child);
        ssize_t n = readlink(link, s->exe, sizeof(s->exe) - 1);
        s->exe[n > 0 ? n : 0] = '\0';
        cpu_set_t all;
        CPU_ZERO(&all);
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
                CPU_SET(cpu, &all);
        sched_setaffinity(child, sizeof(all), &all);
        return 0;
}

static int refuse(void *userdata, pid_t child, struct vl_error *err)
{
        struct seen *s = userdata;
        s->child = child;
        return vl_error_set(err, EPERM, "no scope for pid %d", (int)child);
}

/* Everything the child wrote to stdout until it exited. */
static void read_all(int fd, char *buf, size_t len)
{
        size_t got = 0;
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 10000) != 1)
                        break;
                ssize_t n = read(fd, buf + got, len - 1 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        buf[got] = '\0';
}

static void test_before_exec_runs_before_the_affinity_and_the_exec(void **state)
{
        (void)state;
        char *argv[] = {"/bin/sh", "-c", "grep Cpus_allowed_list: /proc/self/status", NULL};
        unsigned cpu0 = 0;
        struct vmdef_cpulist emulator = {.cpus = &cpu0, .count = 1};
        struct seen seen = {0};
        struct spawn_request req = {.argv = argv,
                                    .affinity = &emulator,
                                    .before_exec = widen_affinity,
                                    .before_exec_userdata = &seen};
        struct qemu_proc proc;
        struct vl_error err = {0};
        assert_int_equal(spawn_qemu(&req, &proc, &err), 0);
        assert_int_equal(seen.child, proc.pid);
        char self[512];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        assert_true(n > 0);
        self[n] = '\0';
        assert_string_equal(seen.exe, self); /* not /bin/sh yet */
        int flags = fcntl(proc.out_fd, F_GETFL);
        fcntl(proc.out_fd, F_SETFL, flags & ~O_NONBLOCK);
        char out[256];
        read_all(proc.out_fd, out, sizeof(out));
        int status;
        assert_int_equal(waitpid(proc.pid, &status, 0), proc.pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* the emulator affinity came after the widening, so it holds */
        assert_non_null(strstr(out, "Cpus_allowed_list:\t0\n"));
        qemu_proc_close(&proc);
}

static void test_a_failing_before_exec_ends_the_child_and_the_spawn(void **state)
{
        (void)state;
        char *argv[] = {"/bin/sh", "-c", "exit 0", NULL};
        struct seen seen = {0};
        struct spawn_request req = {
                .argv = argv, .before_exec = refuse, .before_exec_userdata = &seen};
        struct qemu_proc proc;
        struct vl_error err = {0};
        assert_int_equal(spawn_qemu(&req, &proc, &err), -EPERM);
        assert_non_null(strstr(err.msg, "no scope for pid"));
        assert_true(seen.child > 0);
        /* already reaped by spawn_qemu */
        assert_int_equal(waitpid(seen.child, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
        assert_int_equal(proc.pid, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_before_exec_runs_before_the_affinity_and_the_exec),
                cmocka_unit_test(test_a_failing_before_exec_ends_the_child_and_the_spawn),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
