/* Connecting to QEMU's QMP socket while QEMU is still starting: the socket file may
 * not exist yet (ENOENT), or exist without listening yet (ECONNREFUSED). */
#include "qmp/qmp.h"
#include "qmp/qmp_stream.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/cleanup.h"

/* Between bind() and listen() QEMU gives no event to wait for, so ECONNREFUSED is
 * retried after a short, growing pause. */
#define RETRY_FIRST_MS 5
#define RETRY_MAX_MS   100
/* Even with inotify, look again now and then: the directory may have been replaced. */
#define INOTIFY_RECHECK_MS 1000

/* An inotify fd that wakes up when an entry appears in the socket's directory,
 * or -1 when that cannot be watched (we then fall back to retrying). */
static int watch_socket_dir(const char *socket_path)
{
        char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
        snprintf(dir, sizeof(dir), "%s", socket_path);
        int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
                return -1;
        if (inotify_add_watch(fd, dirname(dir), IN_CREATE | IN_MOVED_TO) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void drain(int fd)
{
        char buf[4096];
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

static bool is_not_ready_yet(int errnum)
{
        return errnum == ENOENT || errnum == ECONNREFUSED || errnum == EAGAIN;
}

int qmp_connect(const char *socket_path, int watch_pidfd, int timeout_ms, struct qmp_client **out,
                struct vl_error *err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(socket_path) >= sizeof(addr.sun_path))
                return vl_error_set(err, ENAMETOOLONG,
                                    "QMP socket path %s is longer than %zu bytes", socket_path,
                                    sizeof(addr.sun_path) - 1);
        memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);

        int64_t deadline = qmp_deadline_after_ms(timeout_ms);
        /* Watch before the first attempt, so a socket created in between is not missed. */
        _cleanup_close_ int dir_watch = watch_socket_dir(socket_path);
        int retry_ms = RETRY_FIRST_MS;

        for (;;) {
                _cleanup_close_ int fd =
                        socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        return vl_error_set(err, errno, "QMP: create socket");
                if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
                        return qmp_client_new(TAKE_FD(fd), out, err);
                int connect_errno = errno;
                if (connect_errno != EINTR && !is_not_ready_yet(connect_errno))
                        return vl_error_set(err, connect_errno, "connect to QMP socket %s",
                                            socket_path);

                int wait_ms = qmp_deadline_poll_ms(deadline);
                if (wait_ms == 0)
                        return vl_error_set(
                                err, ETIMEDOUT,
                                "QMP socket %s did not accept a connection within %d ms (last: %s)",
                                socket_path, timeout_ms, strerror(connect_errno));
                int step_ms = retry_ms;
                if (connect_errno == ENOENT && dir_watch >= 0)
                        step_ms = INOTIFY_RECHECK_MS;
                if (wait_ms < 0 || wait_ms > step_ms)
                        wait_ms = step_ms;
                if (connect_errno != ENOENT && retry_ms < RETRY_MAX_MS)
                        retry_ms *= 2;

                struct pollfd pfds[2] = {{.fd = watch_pidfd, .events = POLLIN},
                                         {.fd = dir_watch, .events = POLLIN}};
                /* poll() ignores negative fds, so absent watches need no special case. */
                int n = poll(pfds, 2, wait_ms);
                if (n < 0 && errno != EINTR)
                        return vl_error_set(err, errno, "QMP: wait for socket %s", socket_path);
                if (n > 0 && (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        return vl_error_set(
                                err, ESRCH,
                                "QEMU exited before its QMP socket %s accepted a connection",
                                socket_path);
                if (n > 0 && pfds[1].revents)
                        drain(dir_watch);
        }
}
