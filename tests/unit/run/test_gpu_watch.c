/* The GPU watcher in the supervisor's poll loop: a kernel log record saying the host is
 * taking a function of the group away reaches the owner once and asks the supervisor
 * to end the guest; anything else does not. /dev/kmsg is a FIFO in a sysroot here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostprep/sysroot.h"
#include "run/gpu_watch.h"

static const char *const group[] = {"0000:00:02.0", "0000:00:02.1"};

struct seen {
        int calls;
        char addr[16];
        char how[200];
};

static void on_lost(void *userdata, const char *addr, const char *how)
{
        struct seen *s = userdata;
        s->calls++;
        snprintf(s->addr, sizeof(s->addr), "%s", addr);
        snprintf(s->how, sizeof(s->how), "%s", how);
}

struct kmsg_fixture {
        char root[64];
        int writer;
};

static void kmsg_setup(struct kmsg_fixture *k)
{
        snprintf(k->root, sizeof(k->root), "/tmp/gpu-watch-XXXXXX");
        assert_non_null(mkdtemp(k->root));
        char path[128];
        snprintf(path, sizeof(path), "%s/dev", k->root);
        assert_int_equal(mkdir(path, 0755), 0);
        strcat(path, "/kmsg");
        assert_int_equal(mkfifo(path, 0600), 0);
        sysroot_set(k->root);
        /* the watcher opens its end first (non-blocking), the writer then */
        k->writer = -1;
}

static void kmsg_write(struct kmsg_fixture *k, const char *record)
{
        if (k->writer < 0) {
                char path[128];
                snprintf(path, sizeof(path), "%s/dev/kmsg", k->root);
                k->writer = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
                assert_true(k->writer >= 0);
        }
        assert_int_equal(write(k->writer, record, strlen(record)), (ssize_t)strlen(record));
}

static void kmsg_teardown(struct kmsg_fixture *k)
{
        char cmd[128];
        if (k->writer >= 0)
                close(k->writer);
        sysroot_set(NULL);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", k->root);
        assert_int_equal(system(cmd), 0);
}

/* One round of the supervisor's loop over the watcher alone. */
static void loop_once(struct gpu_watch *w)
{
        struct pollfd fds[4];
        size_t n = gpu_watch_pollfds(w, fds, 4);
        assert_true(poll(fds, n, 1000) >= 1);
        gpu_watch_dispatch(w, fds, n, 0);
}

static void test_a_device_request_in_the_kernel_log_ends_the_guest_once(void **state)
{
        (void)state;
        struct kmsg_fixture k;
        kmsg_setup(&k);
        struct seen seen = {0};
        struct gpu_watch *w = NULL;
        struct vl_error err = {0};
        assert_int_equal(gpu_watch_open(group, 2, on_lost, &seen, &w, &err), 0);
        char why[32];

        kmsg_write(&k, "6,10,20,-;vfio-pci 0000:00:02.0: enabling device (0000 -> 0003)\n");
        loop_once(w);
        assert_int_equal(seen.calls, 0);
        assert_false(gpu_watch_stop_reason(w, why, sizeof(why)));

        kmsg_write(&k, "5,11,30,-;vfio-pci 0000:00:02.1: Relaying device request to user (#0)\n");
        loop_once(w);
        assert_int_equal(seen.calls, 1);
        assert_string_equal(seen.addr, "0000:00:02.1");
        assert_non_null(strstr(seen.how, "device request"));
        assert_true(gpu_watch_stop_reason(w, why, sizeof(why)));
        assert_string_equal(why, "gpu-lost");
        /* asked once: the supervisor is already ending the guest */
        assert_false(gpu_watch_stop_reason(w, why, sizeof(why)));

        /* the kernel repeats its request every 10 s: said once */
        kmsg_write(&k, "5,12,40,-;vfio-pci 0000:00:02.0: Relaying device request to user (#10)\n");
        loop_once(w);
        assert_int_equal(seen.calls, 1);
        gpu_watch_close(w);
        kmsg_teardown(&k);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_device_request_in_the_kernel_log_ends_the_guest_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
