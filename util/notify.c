#include "util/notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util/cleanup.h"

int vl_notify(const char *state)
{
        if (!state || !*state)
                return -EINVAL;
        const char *path = getenv("NOTIFY_SOCKET");
        if (!path || !*path)
                return 0;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(path);
        /* "@name" is abstract: sun_path starts with a NUL and the address length, not a
         * terminator, ends the name. A path is sent with its terminator. */
        if (path[0] != '/' && path[0] != '@')
                return -EAFNOSUPPORT; /* e.g. systemd's "vsock:" for VMs: not ours to meet */
        if (len + (path[0] == '/') > sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, path, len);
        if (path[0] == '@')
                sa.sun_path[0] = '\0';
        socklen_t sa_len =
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* No SCM_CREDENTIALS of our own: the kernel attaches the sender's when the
         * receiver set SO_PASSCRED, and they are ours (this is not sd_pid_notify). */
        ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, sa_len);
        if (n < 0)
                return -errno;
        return 1;
}

int vl_notifyf(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *state = NULL;
        int n = vasprintf(&state, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        int r = vl_notify(state);
        free(state);
        return r;
}
