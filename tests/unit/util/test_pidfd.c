/* util/pidfd.h: opening and signalling a child through its pidfd. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/pidfd.h"

static void test_pidfd_signal_reaches_the_child_and_pidfd_polls_its_exit(void **state)
{
        (void)state;
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                pause();
                _exit(0);
        }
        int fd = vl_pidfd_open(child);
        if (fd < 0 && errno == ENOSYS) {
                kill(child, SIGKILL);
                waitpid(child, NULL, 0);
                skip(); /* Linux < 5.3 */
        }
        assert_true(fd >= 0);
        assert_int_equal(vl_pidfd_send_signal(fd, SIGTERM), 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 10000), 1);
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGTERM);
        close(fd);
}

static void test_pidfd_open_of_a_missing_process_fails_with_esrch(void **state)
{
        (void)state;
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0)
                _exit(0);
        assert_int_equal(waitpid(child, NULL, 0), child);
        errno = 0;
        assert_int_equal(vl_pidfd_open(child), -1);
        assert_true(errno == ESRCH || errno == ENOSYS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pidfd_signal_reaches_the_child_and_pidfd_polls_its_exit),
                cmocka_unit_test(test_pidfd_open_of_a_missing_process_fails_with_esrch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
