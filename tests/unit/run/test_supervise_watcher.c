/* A supervise watcher that says the guest must end (the GPU left the host) ends it on
 * the gentle path: the ACPI power button, `quit` after the shutdown timeout, and the
 * run's end says why. The "QEMU" is a child process speaking just enough QMP: it
 * answers every command, reports each one on a pipe, and exits on `quit`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "qmp/qmp.h"
#include "run/supervise.h"
#include "util/pidfd.h"

#define GREETING                                                                                   \
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "          \
        "\"package\": \"\"}, \"capabilities\": []}}\r\n"

/* The fake QEMU: one command a line in, one reply each, its name to `report`. */
static void fake_qemu(int qmp, int report)
{
        char buf[4096];
        size_t len = 0;
        if (write(qmp, GREETING, strlen(GREETING)) < 0)
                _exit(2);
        for (;;) {
                ssize_t r = read(qmp, buf + len, sizeof(buf) - 1 - len);
                if (r <= 0)
                        _exit(3);
                len += (size_t)r;
                buf[len] = '\0';
                char *nl;
                while ((nl = strchr(buf, '\n'))) {
                        *nl = '\0';
                        char name[64] = "", reply[128];
                        const char *ex = strstr(buf, "\"execute\"");
                        const char *id = strstr(buf, "\"id\"");
                        if (ex)
                                sscanf(strchr(ex + 9, '"'), "\"%63[^\"]", name);
                        long long n = id ? strtoll(strchr(id, ':') + 1, NULL, 10) : 0;
                        snprintf(reply, sizeof(reply), "{\"return\": {}, \"id\": %lld}\r\n", n);
                        if (write(qmp, reply, strlen(reply)) < 0)
                                _exit(4);
                        dprintf(report, "%s\n", name);
                        if (!strcmp(name, "quit"))
                                _exit(0);
                        len -= (size_t)(nl + 1 - buf);
                        memmove(buf, nl + 1, len + 1);
                }
        }
}

/* The watcher: its pipe turns readable when the "GPU" goes. */
struct gpu_gone {
        int fd;
        bool gone;
        int asked;
};

static size_t gone_pollfds(void *userdata, struct pollfd *fds, size_t max)
{
        struct gpu_gone *g = userdata;
        if (max < 1)
                return 0;
        fds[0] = (struct pollfd){.fd = g->fd, .events = POLLIN};
        return 1;
}

static void gone_dispatch(void *userdata, const struct pollfd *fds, size_t n, long long now_ms)
{
        struct gpu_gone *g = userdata;
        (void)now_ms;
        char c;
        if (n == 1 && fds[0].revents && read(g->fd, &c, 1) == 1)
                g->gone = true;
}

static bool gone_stop_reason(void *userdata, char *why, size_t len)
{
        struct gpu_gone *g = userdata;
        if (!g->gone)
                return false;
        g->asked++;
        snprintf(why, len, "gpu-lost");
        return true;
}

static char stopping_why[64];
static void on_stopping(void *userdata, const char *why)
{
        (void)userdata;
        snprintf(stopping_why, sizeof(stopping_why), "%s", why);
}

static void test_a_watcher_that_says_the_gpu_is_gone_ends_the_guest_gently(void **state)
{
        (void)state;
        /* a supervisor that never ends the guest fails here, not at meson's timeout */
        alarm(30);
        int qmp[2], report[2], gone[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp), 0);
        assert_int_equal(pipe2(report, O_CLOEXEC), 0);
        assert_int_equal(pipe2(gone, O_CLOEXEC | O_NONBLOCK), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                close(qmp[0]);
                fake_qemu(qmp[1], report[1]);
        }
        close(qmp[1]);
        close(report[1]);

        struct vl_error err = {0};
        struct qmp_client *client = NULL;
        assert_int_equal(qmp_client_new(qmp[0], &client, &err), 0);
        assert_int_equal(qmp_handshake(client, 5000, &err), 0);
        struct qemu_proc proc = {
                .pid = child, .pidfd = vl_pidfd_open(child), .out_fd = -1, .err_fd = -1};
        assert_true(proc.pidfd >= 0);
        static struct qemu_output output;
        int signal_fd = supervise_signals_open(&err);
        assert_true(signal_fd >= 0);

        struct gpu_gone g = {.fd = gone[0]};
        assert_int_equal(write(gone[1], "x", 1), 1); /* the GPU is already gone */
        struct supervise_params p = {.qmp = client,
                                     .proc = &proc,
                                     .output = &output,
                                     .signal_fd = signal_fd,
                                     .shutdown_timeout_s = 1,
                                     .companion_pidfd = -1,
                                     .on_stopping = on_stopping,
                                     .watchers = {{.userdata = &g,
                                                   .pollfds = gone_pollfds,
                                                   .dispatch = gone_dispatch,
                                                   .stop_reason = gone_stop_reason}},
                                     .n_watchers = 1};
        struct supervise_result res = {0};
        assert_int_equal(supervise_run(&p, &res, &err), 0);

        assert_int_equal(res.end, SUPERVISE_WATCHER_ENDED);
        assert_non_null(strstr(res.detail, "gpu-lost"));
        assert_string_equal(stopping_why, "gpu-lost");
        assert_int_equal(proc.pid, 0); /* reaped */
        assert_true(WIFEXITED(res.wait_status) && WEXITSTATUS(res.wait_status) == 0);
        /* the power button first, `quit` once the shutdown timeout passed */
        char cmds[256] = "";
        ssize_t n = read(report[0], cmds, sizeof(cmds) - 1);
        assert_true(n > 0);
        cmds[n] = '\0';
        assert_string_equal(cmds, "qmp_capabilities\nsystem_powerdown\nquit\n");

        qmp_close(client);
        close(proc.pidfd);
        close(report[0]);
        close(gone[0]);
        close(gone[1]);
        close(signal_fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_watcher_that_says_the_gpu_is_gone_ends_the_guest_gently),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
