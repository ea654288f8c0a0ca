#include "launcher/events_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher/ctl_client.h"
#include "util/cleanup.h"
#include "util/clock.h"

static const char events_request[] = "{\"request\":\"events\"}\n";

/* -ESRCH with the state of a VM no vmlaunch runs. */
static int not_running(const char *name, struct runstate *st, struct vl_error *err)
{
        bool running = false;
        int r = ctl_vm_state(name, st, &running, err);
        if (r < 0)
                return r;
        /* Running again by now is a new run: this one is over all the same. */
        if (running)
                snprintf(st->state, sizeof(st->state), "stopped");
        return vl_error_set_plain(err, ESRCH, "%s is not running (state: %s)", name, st->state);
}

/* A connected, non-blocking socket at path, or -errno (-ENOENT, -ECONNREFUSED: not
 * there yet, or left by a run that is gone). */
static int connect_unix(const char *path)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(addr.sun_path))
                return -ENAMETOOLONG;
        memcpy(addr.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

/* The request is a few bytes on a fresh socket: one blocking send. */
static int send_request(int fd, const char *path, struct vl_error *err)
{
        size_t len = sizeof(events_request) - 1;
        ssize_t n;
        do
                n = send(fd, events_request, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)len)
                return vl_error_set(err, n < 0 ? errno : EIO, "ask %s for the events", path);
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return vl_error_set(err, errno, "%s", path);
        return 0;
}

int events_stream_open(const char *name, int64_t deadline_ms, struct events_stream *s,
                       struct runstate *st, struct vl_error *err)
{
        *s = (struct events_stream){.fd = -1};
        _cleanup_free_ char *dir = NULL;
        int r = runstate_dir(name, &dir, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = runstate_path(dir, RUNSTATE_EVENTS_SOCKET);
        if (!path)
                return vl_error_set(err, ENOMEM, "events of %s", name);
        /* Watched before the first look, so that a socket created between the look and
         * the wait is not missed; the run dir goes away (or loses its lock file) when
         * the run ends, which wakes the wait too. */
        _cleanup_close_ int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (ino < 0)
                return vl_error_set(err, errno, "inotify");
        if (inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF) < 0) {
                if (errno == ENOENT)
                        return not_running(name, st, err);
                return vl_error_set(err, errno, "watch %s", dir);
        }
        int64_t bound = vl_monotonic_ms() + EVENTS_SOCKET_APPEAR_TIMEOUT_MS;
        for (;;) {
                r = runstate_is_locked(dir);
                if (r < 0)
                        return vl_error_set(err, -r, "check the lock in %s", dir);
                if (r == 0)
                        return not_running(name, st, err);
                int fd = connect_unix(path);
                if (fd >= 0) {
                        s->fd = fd;
                        r = send_request(fd, path, err);
                        if (r < 0)
                                events_stream_close(s);
                        return r;
                }
                if (fd != -ENOENT && fd != -ECONNREFUSED)
                        return vl_error_set(err, -fd, "connect to %s", path);
                int64_t now = vl_monotonic_ms();
                int64_t until = deadline_ms >= 0 && deadline_ms < bound ? deadline_ms : bound;
                if (now >= until) {
                        if (until == deadline_ms)
                                return vl_error_set_plain(err, ETIMEDOUT,
                                                          "%s has no events socket yet", name);
                        return vl_error_set_plain(
                                err, ETIMEDOUT,
                                "%s: its run dir is locked but %s did not appear within %d s (a `vmlaunch restore %s` at work?)",
                                name, path, EVENTS_SOCKET_APPEAR_TIMEOUT_MS / 1000, name);
                }
                struct pollfd pfd = {.fd = ino, .events = POLLIN};
                if (poll(&pfd, 1, (int)(until - now)) < 0 && errno != EINTR)
                        return vl_error_set(err, errno, "poll");
                char buf[4096];
                while (read(ino, buf, sizeof(buf)) > 0)
                        ;
        }
}

int events_stream_read(struct events_stream *s, struct vl_error *err)
{
        for (;;) {
                char buf[16384];
                ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return 0;
                if (n < 0 && errno == ECONNRESET) {
                        s->eof = true; /* a run that ended with our lines unread */
                        return 0;
                }
                if (n < 0)
                        return vl_error_set(err, errno, "read the events");
                if (n == 0) {
                        s->eof = true;
                        return 0;
                }
                int r = event_lines_feed(&s->lines, buf, (size_t)n);
                if (r < 0)
                        return vl_error_set(err, -r, "read the events");
        }
}

const char *events_stream_next_line(struct events_stream *s)
{
        return event_lines_next(&s->lines);
}

void events_stream_close(struct events_stream *s)
{
        if (s->fd >= 0)
                close(s->fd);
        event_lines_free(&s->lines);
        *s = (struct events_stream){.fd = -1};
}
