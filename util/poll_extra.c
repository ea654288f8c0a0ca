#include "util/poll_extra.h"

#include <errno.h>
#include <string.h>

#include "util/clock.h"

/* The run's own: one run per process, set before its first host change and cleared
 * before it ends. */
static struct vl_poll_extra extra_now;

void vl_poll_extra_set(const struct vl_poll_extra *extra)
{
        extra_now = extra ? *extra : (struct vl_poll_extra){0};
}

int vl_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
        if (!extra_now.fds || n > VL_POLL_EXTRA_MAX)
                return poll(fds, n, timeout_ms);
        long long deadline = timeout_ms < 0 ? -1 : vl_monotonic_ms() + timeout_ms;
        for (;;) {
                struct pollfd all[2 * VL_POLL_EXTRA_MAX];
                if (n)
                        memcpy(all, fds, n * sizeof(*fds));
                size_t n_extra = extra_now.fds(extra_now.userdata, all + n, VL_POLL_EXTRA_MAX);
                long long left = deadline < 0 ? -1 : deadline - vl_monotonic_ms();
                int r = poll(all, n + n_extra, deadline < 0 ? -1 : left > 0 ? (int)left : 0);
                if (r <= 0)
                        return r;
                int mine = 0;
                for (nfds_t i = 0; i < n; i++) {
                        fds[i].revents = all[i].revents;
                        mine += all[i].revents != 0;
                }
                if (mine < r)
                        extra_now.serve(extra_now.userdata);
                if (mine)
                        return mine;
                if (deadline >= 0 && vl_monotonic_ms() >= deadline)
                        return 0;
        }
}
