/* Long waits that keep something else served. While a host step waits (a prepare
 * hook, a driver to let go, a stuck sysfs write), the run's events socket must still
 * answer new listeners; vl_poll() is poll() with those descriptors added and served
 * whenever they are ready. The run sets them (one run per process); with none set,
 * vl_poll() is plain poll(). */
#pragma once

#include <poll.h>
#include <stddef.h>

/* At most this many extra descriptors join a wait. */
#define VL_POLL_EXTRA_MAX 72

struct vl_poll_extra {
        size_t (*fds)(void *userdata, struct pollfd *fds, size_t max);
        void (*serve)(void *userdata);
        void *userdata;
};

/* Sets (or, with NULL, clears) what every vl_poll() serves too. */
void vl_poll_extra_set(const struct vl_poll_extra *extra);

/* poll() on fds for up to timeout_ms (-1: no limit), serving the extra descriptors
 * meanwhile: returns how many of fds are ready, 0 once the timeout passed, -1 with
 * errno (EINTR included) like poll(). */
int vl_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
