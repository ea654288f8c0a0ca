/* vmlaunch stop [--timeout S] [--force] NAME: ask the supervising vmlaunch to
 * shut the guest down, as SIGTERM (or Ctrl-C twice) would, and wait for it. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/ctl_client.h"
#include "util/exit_codes.h"
#include "run/supervise.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/pidfd.h"

/* Beyond the VM's shutdown timeout and the kill grace: time to restore the host. */
#define STOP_MARGIN_S 30

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch stop [--timeout SECONDS] [--force] NAME\n\n"
                     "Shut a running VM down the way SIGTERM to its vmlaunch does (ACPI, then\n"
                     "quit after the shutdown timeout, then SIGKILL) and wait until vmlaunch\n"
                     "has ended and restored the host. --force quits QEMU at once.\n"
                     "--timeout gives up waiting after SECONDS (exit 1; the stop goes on).\n");
}

static int left_ms(long long deadline)
{
        long long left = deadline - vl_monotonic_ms();
        return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Standard signals do not queue: a second SIGINT sent before vmlaunch read the
 * first would be lost. So --force waits until the state file says "stopping"
 * (watched with inotify) before sending the second one. */
static int wait_until_stopping(const char *run_dir, int pidfd, long long deadline)
{
        _cleanup_close_ int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ino < 0 || inotify_add_watch(ino, run_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
                return -errno;
        for (;;) {
                struct runstate st;
                if (runstate_read(run_dir, &st, NULL) < 0 ||
                    (strcmp(st.state, "preparing") && strcmp(st.state, "starting") &&
                     strcmp(st.state, "running")))
                        return 0;
                struct pollfd fds[] = {{.fd = ino, .events = POLLIN},
                                       {.fd = pidfd, .events = POLLIN}};
                int n = poll(fds, 2, left_ms(deadline));
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n == 0)
                        return -ETIMEDOUT;
                if (fds[1].revents)
                        return 0; /* already gone */
                char buf[4096];
                while (read(ino, buf, sizeof(buf)) > 0)
                        ;
        }
}

enum { OPT_FORCE = VL_CLI_OPT_VERB, OPT_TIMEOUT };

static const struct option stop_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"force", no_argument, NULL, OPT_FORCE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {0},
};

int cmd_stop(int argc, char **argv)
{
        bool force = false;
        long timeout_s = -1;
        const char *name = NULL;
        struct vl_cli_parser p = vl_cli_parser("stop", argc, argv, "-:h", stop_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_FORCE:
                        force = true;
                        break;
                case OPT_TIMEOUT:
                        timeout_s = vl_cli_timeout_s("stop", arg);
                        if (timeout_s < 0)
                                return VL_EXIT_USAGE;
                        break;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("stop", "NAME", arg, &name) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!name) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }

        struct vl_error err = {0};
        struct runstate st;
        _cleanup_free_ char *run_dir = NULL;
        int r = ctl_find_running(name, &run_dir, &st, &err);
        if (r == -ESRCH) {
                fprintf(stderr, "vmlaunch stop: %s\n", err.msg);
                return VL_EXIT_OK; /* already stopped is what was asked */
        }
        if (r < 0) {
                fprintf(stderr, "vmlaunch stop: %s\n", err.msg);
                return VL_EXIT_FAILURE;
        }
        _cleanup_close_ int pidfd = vl_pidfd_open(st.pid);
        if (pidfd < 0) {
                if (errno == ESRCH) {
                        fprintf(stderr, "vmlaunch stop: %s is not running\n", name);
                        return VL_EXIT_OK;
                }
                fprintf(stderr, "vmlaunch stop: pidfd_open of vmlaunch pid %d: %s\n", (int)st.pid,
                        strerror(errno));
                return VL_EXIT_FAILURE;
        }
        /* The pid came from the state file; make sure it is still that VM's
         * vmlaunch (the lock is still held) now that the pidfd pins it. */
        if (runstate_is_locked(run_dir) != 1) {
                fprintf(stderr, "vmlaunch stop: %s is not running\n", name);
                return VL_EXIT_OK;
        }
        if (timeout_s < 0)
                timeout_s = (force ? 0 : st.shutdown_timeout_s) + SUPERVISE_KILL_GRACE_MS / 1000 +
                            STOP_MARGIN_S;
        long long deadline = vl_monotonic_ms() + timeout_s * 1000;

        if (vl_pidfd_send_signal(pidfd, force ? SIGINT : SIGTERM) < 0) {
                fprintf(stderr, "vmlaunch stop: signal vmlaunch pid %d: %s\n", (int)st.pid,
                        strerror(errno));
                return VL_EXIT_FAILURE;
        }
        if (force) {
                r = wait_until_stopping(run_dir, pidfd, deadline);
                if (r >= 0)
                        (void)vl_pidfd_send_signal(pidfd, SIGINT);
        }
        fprintf(stderr, "vmlaunch stop: stopping %s (vmlaunch pid %d)%s\n", name, (int)st.pid,
                force ? ", forced" : "");
        for (;;) {
                struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
                int n = poll(&pfd, 1, left_ms(deadline));
                if (n > 0)
                        break;
                if (n < 0 && errno == EINTR)
                        continue;
                fprintf(stderr,
                        "vmlaunch stop: %s is still running after %ld s (vmlaunch pid %d); `vmlaunch stop --force %s` quits it at once\n",
                        name, timeout_s, (int)st.pid, name);
                return VL_EXIT_FAILURE;
        }
        fprintf(stderr, "vmlaunch stop: %s stopped\n", name);
        return VL_EXIT_OK;
}
