#include "launcher/ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostprep/hostprep.h"
#include "qmp/qmp.h"
#include "util/cleanup.h"
#include "util/clock.h"

int ctl_find_running(const char *name, char **run_dir, struct runstate *st, struct vl_error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = runstate_dir(name, &dir, err);
        if (r < 0)
                return r;
        /* The lock, not the state file, says whether it runs: a vmlaunch that was
         * killed leaves its state file behind but not its lock. */
        r = runstate_is_locked(dir);
        if (r < 0)
                return vl_error_set(err, -r, "check the lock in %s", dir);
        if (r == 0)
                return vl_error_set_plain(err, ESRCH, "%s is not running", name);
        r = runstate_read(dir, st, err);
        if (r == -ENOENT)
                return vl_error_set_plain(err, ESRCH, "%s is not running", name);
        if (r < 0)
                return r;
        *run_dir = TAKE_PTR(dir);
        return 0;
}

int ctl_vm_state(const char *name, struct runstate *st, bool *running, struct vl_error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = ctl_find_running(name, &dir, st, err);
        *running = r == 0;
        if (r != -ESRCH)
                return r;
        *st = (struct runstate){0};
        free(dir);
        dir = NULL;
        r = runstate_dir(name, &dir, err);
        if (r < 0)
                return r;
        snprintf(st->state, sizeof(st->state), "%s",
                 hostprep_journal_exists(dir) ? "needs-restore" : "stopped");
        return 0;
}

int ctl_request(const char *run_dir, const char *request, int timeout_ms, char **reply,
                struct vl_error *err)
{
        _cleanup_free_ char *path = runstate_path(run_dir, RUNSTATE_EVENTS_SOCKET);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (!path)
                return -ENOMEM;
        if (strlen(path) >= sizeof(addr.sun_path))
                return vl_error_set(err, ENAMETOOLONG, "%s", path);
        strcpy(addr.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
                return vl_error_set(err, errno, "connect to %s", path);
        size_t len = strlen(request);
        if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len ||
            send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
                return vl_error_set(err, errno, "send to %s", path);
        long long deadline = vl_monotonic_ms() + timeout_ms;
        size_t cap = 4096, used = 0;
        _cleanup_free_ char *buf = malloc(cap);
        for (;;) {
                if (!buf)
                        return vl_error_set(err, ENOMEM, "read the answer");
                char *nl = memchr(buf, '\n', used);
                if (nl) {
                        *nl = '\0';
                        *reply = TAKE_PTR(buf);
                        return 0;
                }
                long long left = deadline - vl_monotonic_ms();
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int n = left > 0 ? poll(&p, 1, (int)left) : 0;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0)
                        return vl_error_set(err, ETIMEDOUT, "no answer from %s within %d s", path,
                                            timeout_ms / 1000);
                if (used + 4096 > cap) {
                        char *more = realloc(buf, cap *= 2);
                        if (!more)
                                return vl_error_set(err, ENOMEM, "read the answer");
                        buf = more;
                }
                ssize_t got = read(fd, buf + used, cap - used);
                if (got <= 0)
                        return vl_error_set(err, got < 0 ? errno : EPIPE,
                                            "the run ended before it answered");
                used += (size_t)got;
        }
}

int ctl_connect(const char *run_dir, struct qmp_client **out, struct vl_error *err)
{
        _cleanup_free_ char *path = runstate_path(run_dir, RUNSTATE_CTL_SOCKET);
        if (!path)
                return -ENOMEM;
        struct qmp_client *c = NULL;
        int r = qmp_connect(path, -1, CTL_CONNECT_TIMEOUT_MS, &c, err);
        if (r >= 0)
                r = qmp_handshake(c, CTL_CONNECT_TIMEOUT_MS, err);
        if (r < 0) {
                qmp_close(c);
                return r;
        }
        *out = c;
        return 0;
}
