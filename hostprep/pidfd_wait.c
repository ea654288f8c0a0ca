/* The default hostprep_process_ops: wait for processes to exit on their pidfds, all
 * in one poll with one deadline; no sleeping, no polling /proc. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "hostprep/holders.h"
#include "hostprep/hostprep.h"
#include "util/poll_extra.h"
#include "util/clock.h"
#include "util/pidfd.h"

static int pidfd_wait_exit(void *userdata, const int *pids, size_t n, uint64_t deadline_ms,
                           bool *exited, struct vl_error *err)
{
        (void)userdata;
        struct pollfd *fds = calloc(n ? n : 1, sizeof(*fds));
        if (!fds)
                return vl_error_set(err, ENOMEM, "waiting for processes");
        size_t open_fds = 0;
        for (size_t i = 0; i < n; i++) {
                exited[i] = false;
                fds[i] = (struct pollfd){.fd = -1, .events = POLLIN};
                int fd = vl_pidfd_open(pids[i]);
                if (fd < 0) {
                        /* ESRCH: gone already; ENOSYS (Linux < 5.3): cannot wait, so it
                         * counts as still there and gets named */
                        exited[i] = errno == ESRCH;
                        continue;
                }
                fds[i].fd = fd; /* readable once the process has exited */
                open_fds++;
        }
        int r = 0;
        while (open_fds > 0) {
                uint64_t now = (uint64_t)vl_monotonic_ms();
                if (now >= deadline_ms)
                        break;
                uint64_t left = deadline_ms - now;
                int ready = vl_poll(fds, n, left > INT_MAX ? INT_MAX : (int)left);
                if (ready < 0 && errno == EINTR)
                        continue;
                if (ready < 0) {
                        r = vl_error_set(err, errno, "poll on pidfds");
                        break;
                }
                for (size_t i = 0; i < n && ready > 0; i++) {
                        if (fds[i].fd < 0 || !fds[i].revents)
                                continue;
                        exited[i] = true;
                        close(fds[i].fd);
                        fds[i].fd = -1; /* poll skips negative fds */
                        open_fds--;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (fds[i].fd >= 0)
                        close(fds[i].fd);
        free(fds);
        return r;
}

const struct hostprep_process_ops hostprep_pidfd_processes = {.wait_exit = pidfd_wait_exit};
