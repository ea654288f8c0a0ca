/* vl_notify against a real AF_UNIX datagram socket, as a service manager listens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/notify.h"

/* A listener like systemd's: SO_PASSCRED, so each datagram carries its sender. */
static int listen_at(const char *name, int abstract)
{
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(name);
        memcpy(sa.sun_path + abstract, name, len);
        socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + len);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sa_len), 0);
        int one = 1;
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        return fd;
}

/* Receives one datagram (without blocking: it was sent already) and its sender's pid. */
static void receive(int fd, char *buf, size_t len, pid_t *sender)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = len - 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = &control,
                            .msg_controllen = sizeof(control)};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
        assert_true(n >= 0);
        buf[n] = '\0';
        *sender = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                        *sender = ((struct ucred *)CMSG_DATA(c))->pid;
}

static void test_without_notify_socket_nothing_is_sent(void **state)
{
        (void)state;
        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(vl_notify("READY=1"), 0);
        setenv("NOTIFY_SOCKET", "", 1);
        assert_int_equal(vl_notify("READY=1"), 0);
}

static void test_path_socket_gets_the_state_and_the_variable_stays(void **state)
{
        (void)state;
        char dir[] = "/tmp/vl-notify.XXXXXX", path[64], buf[256];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/notify", dir);
        int fd = listen_at(path, 0);
        setenv("NOTIFY_SOCKET", path, 1);

        assert_int_equal(vl_notify("STATUS=Starting QEMU"), 1);
        pid_t sender;
        receive(fd, buf, sizeof(buf), &sender);
        assert_string_equal(buf, "STATUS=Starting QEMU");
        assert_int_equal(sender, getpid());
        assert_string_equal(getenv("NOTIFY_SOCKET"), path); /* not unset: later states follow */

        close(fd);
        unlink(path);
        rmdir(dir);
}

static void test_abstract_socket_gets_ready_and_mainpid(void **state)
{
        (void)state;
        char name[64], env[80], buf[256], want[256];
        snprintf(name, sizeof(name), "vmlaunch-test-notify-%d", (int)getpid());
        int fd = listen_at(name, 1);
        snprintf(env, sizeof(env), "@%s", name);
        setenv("NOTIFY_SOCKET", env, 1);

        assert_int_equal(vl_notifyf("READY=1\nSTATUS=Guest %s running, pinned\nMAINPID=%ld",
                                    "win10", (long)getpid()),
                         1);
        pid_t sender;
        receive(fd, buf, sizeof(buf), &sender);
        snprintf(want, sizeof(want), "READY=1\nSTATUS=Guest win10 running, pinned\nMAINPID=%ld",
                 (long)getpid());
        assert_string_equal(buf, want);
        assert_int_equal(sender, getpid());
        close(fd);
}

static void test_unusable_addresses_are_errors(void **state)
{
        (void)state;
        setenv("NOTIFY_SOCKET", "relative/notify", 1);
        assert_int_equal(vl_notify("READY=1"), -EAFNOSUPPORT);
        char long_path[200];
        memset(long_path, 'x', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = '\0';
        setenv("NOTIFY_SOCKET", long_path, 1);
        assert_int_equal(vl_notify("READY=1"), -EINVAL);
        setenv("NOTIFY_SOCKET", "/nonexistent/vmlaunch-notify", 1);
        assert_int_equal(vl_notify("READY=1"), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_without_notify_socket_nothing_is_sent),
                cmocka_unit_test(test_path_socket_gets_the_state_and_the_variable_stays),
                cmocka_unit_test(test_abstract_socket_gets_ready_and_mainpid),
                cmocka_unit_test(test_unusable_addresses_are_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
