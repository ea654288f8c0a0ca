#include "run/leftover_qemu.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/runlog.h"
#include "run/runstate.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/pidfd.h"

/* The real /proc, not a sysroot: the pid is a live process of this host. */
int leftover_qemu_start_time(pid_t pid, uint64_t *ticks)
{
        char path[64], text[1024];
        snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : -errno;
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        /* comm (field 2) may hold spaces and parentheses: count from the last ')'. */
        const char *p = strrchr(text, ')');
        if (!p)
                return -EINVAL;
        p++;
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EINVAL;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p + 1, &end, 10);
        if (errno || end == p + 1)
                return -EINVAL;
        *ticks = v;
        return 0;
}

static void say(const struct leftover_qemu_opts *o, int priority, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void say(const struct leftover_qemu_opts *o, int priority, const char *fmt, ...)
{
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (o->log)
                o->log(o->log_userdata, priority, line);
}

/* 1 when the process behind pidfd exited within timeout_ms, 0 when not, -errno. */
static int wait_exit(int pidfd, int timeout_ms)
{
        int64_t deadline = vl_monotonic_ms() + timeout_ms;
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        for (;;) {
                int64_t left = deadline - vl_monotonic_ms();
                int n = poll(&pfd, 1, left > 0 ? (int)left : 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                return n > 0;
        }
}

int leftover_qemu_end(const struct leftover_qemu_opts *o, struct vl_error *err)
{
        struct runstate st;
        struct vl_error ignored = {0};
        if (runstate_read(o->run_dir, &st, &ignored) < 0 || st.qemu_pid <= 0)
                return 0; /* no state, or killed before QEMU was started */
        /* The pidfd first, the start time second: if they match, the pidfd is that QEMU
         * (a pid is not reused while its process lives), never a newcomer on its pid. */
        _cleanup_close_ int pidfd = vl_pidfd_open(st.qemu_pid);
        if (pidfd < 0 && errno == ESRCH)
                return 0;
        if (pidfd < 0)
                return vl_error_set(err, errno, "watch QEMU (pid %ld) of %s", (long)st.qemu_pid,
                                    o->name);
        uint64_t start = 0;
        int r = leftover_qemu_start_time(st.qemu_pid, &start);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return vl_error_set(err, -r, "read the start time of pid %ld", (long)st.qemu_pid);
        if (!st.qemu_start || start != st.qemu_start) {
                say(o, LOG_INFO,
                    "pid %ld is not %s's QEMU any more (it started at tick %" PRIu64
                    ", QEMU at %" PRIu64 "): left alone",
                    (long)st.qemu_pid, o->name, start, st.qemu_start);
                return 0;
        }
        if (wait_exit(pidfd, 0) == 1)
                return 0; /* exited, not yet reaped */

        say(o, LOG_WARNING,
            "the vmlaunch of %s (pid %ld) is gone but its QEMU (pid %ld) still runs: ending it before restoring (SIGTERM)",
            o->name, (long)st.pid, (long)st.qemu_pid);
        if (vl_pidfd_send_signal(pidfd, SIGTERM) < 0 && errno != ESRCH)
                return vl_error_set(err, errno, "send SIGTERM to QEMU (pid %ld)",
                                    (long)st.qemu_pid);
        r = wait_exit(pidfd, o->term_wait_ms);
        if (r < 0)
                return vl_error_set(err, -r, "wait for QEMU (pid %ld)", (long)st.qemu_pid);
        if (r == 0) {
                say(o, LOG_WARNING, "QEMU (pid %ld) still runs %d s after SIGTERM: SIGKILL",
                    (long)st.qemu_pid, o->term_wait_ms / 1000);
                if (vl_pidfd_send_signal(pidfd, SIGKILL) < 0 && errno != ESRCH)
                        return vl_error_set(err, errno, "send SIGKILL to QEMU (pid %ld)",
                                            (long)st.qemu_pid);
                r = wait_exit(pidfd, o->kill_wait_ms);
                if (r <= 0)
                        return vl_error_set_plain(
                                err, r < 0 ? -r : ETIMEDOUT,
                                "QEMU (pid %ld) still runs %d s after SIGKILL (stuck in the kernel?); the host is not restored under it: run `vmlaunch restore %s` again once it is gone",
                                (long)st.qemu_pid, o->kill_wait_ms / 1000, o->name);
        }
        say(o, LOG_NOTICE, "QEMU (pid %ld) of %s has ended", (long)st.qemu_pid, o->name);
        return 0;
}
