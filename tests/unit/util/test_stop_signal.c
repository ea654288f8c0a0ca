/* util/stop_signal.h: SIGINT, SIGTERM and SIGHUP seen while blocked, never taken. */
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/stop_signal.h"

static void block_stop_signals(void)
{
        sigset_t set;
        sigemptyset(&set);
        vl_stop_signals_add(&set);
        sigaddset(&set, SIGUSR1);
        assert_int_equal(sigprocmask(SIG_BLOCK, &set, NULL), 0);
}

/* Takes a pending signal so the next test starts with none. */
static void take(int sig)
{
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        const struct timespec now = {0, 0};
        assert_int_equal(sigtimedwait(&one, NULL, &now), sig);
}

static void test_each_stop_signal_is_seen_pending_and_left_pending(void **state)
{
        (void)state;
        const int stops[] = {SIGINT, SIGTERM, SIGHUP};
        for (size_t i = 0; i < 3; i++) {
                assert_false(vl_stop_signal_pending());
                assert_int_equal(raise(stops[i]), 0);
                assert_true(vl_stop_signal_pending());
                assert_true(vl_stop_signal_pending()); /* looking does not take it */
                take(stops[i]);
        }
        assert_false(vl_stop_signal_pending());
}

static void test_other_signals_are_not_stop_signals(void **state)
{
        (void)state;
        assert_int_equal(raise(SIGUSR1), 0);
        assert_false(vl_stop_signal_pending());
        take(SIGUSR1);
}

static void test_stop_signal_fd_is_readable_while_one_is_pending(void **state)
{
        (void)state;
        int fd = vl_stop_signal_fd_open();
        assert_true(fd >= 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 0), 0);
        assert_int_equal(raise(SIGTERM), 0);
        assert_int_equal(poll(&p, 1, 0), 1);
        take(SIGTERM);
        close(fd);
}

int main(void)
{
        block_stop_signals();
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_each_stop_signal_is_seen_pending_and_left_pending),
                cmocka_unit_test(test_other_signals_are_not_stop_signals),
                cmocka_unit_test(test_stop_signal_fd_is_readable_while_one_is_pending),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
