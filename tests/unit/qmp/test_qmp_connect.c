/* qmp_connect while QEMU is starting: the socket appears late, listens late, never
 * appears, or QEMU dies first. The delays below stand in for QEMU's start-up time. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_qmp_server.h"
#include "qmp/qmp.h"

#define STARTUP_DELAY_MS 150
#define TEST_TIMEOUT_MS  10000

struct socket_dir {
        char dir[64];
        char path[PATH_MAX];
};

static int setup_dir(void **state)
{
        struct socket_dir *sd = calloc(1, sizeof(*sd));
        snprintf(sd->dir, sizeof(sd->dir), "/tmp/test-qmp-connect-XXXXXX");
        if (!mkdtemp(sd->dir))
                return -1;
        snprintf(sd->path, sizeof(sd->path), "%s/qmp.sock", sd->dir);
        *state = sd;
        return 0;
}

static int teardown_dir(void **state)
{
        struct socket_dir *sd = *state;
        unlink(sd->path);
        rmdir(sd->dir);
        free(sd);
        return 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int bound_socket(const char *path)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                abort();
        return fd;
}

/* A late QEMU: after STARTUP_DELAY_MS binds (unless already bound) and listens,
 * then plays a handshake on the first connection. */
struct late_qemu {
        const char *path;
        int listen_fd; /* -1: bind it too */
        struct fake_server srv;
        pthread_t thread;
};

static const struct fake_step handshake_script[] = {HANDSHAKE};

static void *late_qemu_main(void *arg)
{
        struct late_qemu *q = arg;
        poll(NULL, 0, STARTUP_DELAY_MS);
        if (q->listen_fd < 0)
                q->listen_fd = bound_socket(q->path);
        if (listen(q->listen_fd, 1) < 0)
                abort();
        int fd = accept4(q->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                abort();
        fake_server_start_on_fd(&q->srv, fd, handshake_script,
                                sizeof(handshake_script) / sizeof(handshake_script[0]));
        return NULL;
}

static void connect_to_late_qemu(struct socket_dir *sd, int listen_fd)
{
        struct late_qemu q = {.path = sd->path, .listen_fd = listen_fd};
        assert_int_equal(pthread_create(&q.thread, NULL, late_qemu_main, &q), 0);

        struct qmp_client *c = NULL;
        struct vl_error err = {0};
        int64_t start = now_ms();
        int r = qmp_connect(sd->path, -1, TEST_TIMEOUT_MS, &c, &err);
        if (r < 0)
                fail_msg("qmp_connect: %s", err.msg);
        assert_true(now_ms() - start >= STARTUP_DELAY_MS - 10);
        assert_int_equal(qmp_handshake(c, TEST_TIMEOUT_MS, &err), 0);
        assert_int_equal(qmp_qemu_version(c), 70201);

        qmp_close(c);
        pthread_join(q.thread, NULL);
        const char *failure = fake_server_finish(&q.srv);
        if (failure)
                fail_msg("fake QEMU: %s", failure);
        close(q.listen_fd);
}

static void test_connect_waits_for_the_socket_to_appear(void **state)
{
        connect_to_late_qemu(*state, -1);
}

static void test_connect_waits_for_the_socket_to_listen(void **state)
{
        struct socket_dir *sd = *state;
        /* Bound but not listening yet: connect() fails with ECONNREFUSED meanwhile. */
        connect_to_late_qemu(sd, bound_socket(sd->path));
}

static void test_connect_times_out_when_the_socket_never_appears(void **state)
{
        struct socket_dir *sd = *state;
        struct qmp_client *c = NULL;
        struct vl_error err = {0};
        int64_t start = now_ms();
        assert_int_equal(qmp_connect(sd->path, -1, 200, &c, &err), -ETIMEDOUT);
        int64_t elapsed = now_ms() - start;
        assert_true(elapsed >= 190);
        assert_true(elapsed < 3000);
        assert_null(c);
        assert_non_null(strstr(err.msg, sd->path));
}

static void test_connect_gives_up_when_the_watched_process_exits(void **state)
{
        struct socket_dir *sd = *state;
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) { /* a QEMU that dies while starting */
                poll(NULL, 0, STARTUP_DELAY_MS);
                _exit(1);
        }
        int pidfd = pidfd_open(child, 0);
        assert_true(pidfd >= 0);

        struct qmp_client *c = NULL;
        struct vl_error err = {0};
        int64_t start = now_ms();
        assert_int_equal(qmp_connect(sd->path, pidfd, TEST_TIMEOUT_MS, &c, &err), -ESRCH);
        assert_true(now_ms() - start < TEST_TIMEOUT_MS / 2);
        assert_non_null(strstr(err.msg, "exited"));

        close(pidfd);
        assert_int_equal(waitpid(child, NULL, 0), child);
}

static void test_connect_to_a_stale_socket_of_a_dead_process_gives_up_at_once(void **state)
{
        struct socket_dir *sd = *state;
        close(bound_socket(sd->path)); /* the file stays, nobody listens */
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0)
                _exit(1);
        int pidfd = pidfd_open(child, 0);
        assert_true(pidfd >= 0);
        assert_int_equal(waitpid(child, NULL, 0), child);

        struct qmp_client *c = NULL;
        struct vl_error err = {0};
        assert_int_equal(qmp_connect(sd->path, pidfd, TEST_TIMEOUT_MS, &c, &err), -ESRCH);
        close(pidfd);
}

static void test_connect_rejects_a_path_longer_than_sun_path(void **state)
{
        (void)state;
        char path[200];
        memset(path, 'a', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = '\0';
        struct qmp_client *c = NULL;
        struct vl_error err = {0};
        assert_int_equal(qmp_connect(path, -1, 100, &c, &err), -ENAMETOOLONG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_connect_waits_for_the_socket_to_appear,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_connect_waits_for_the_socket_to_listen,
                                                setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(
                        test_connect_times_out_when_the_socket_never_appears, setup_dir,
                        teardown_dir),
                cmocka_unit_test_setup_teardown(
                        test_connect_gives_up_when_the_watched_process_exits, setup_dir,
                        teardown_dir),
                cmocka_unit_test_setup_teardown(
                        test_connect_to_a_stale_socket_of_a_dead_process_gives_up_at_once,
                        setup_dir, teardown_dir),
                cmocka_unit_test(test_connect_rejects_a_path_longer_than_sun_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
