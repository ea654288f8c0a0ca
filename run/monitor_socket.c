#include "run/monitor_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* One client at a time is served per monitor; a few may wait. */
#define MONITOR_BACKLOG 4

int monitor_socket_listen(const char *path, struct vl_error *err)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(addr.sun_path))
                return vl_error_set(err, ENAMETOOLONG, "QMP socket %s", path);
        strcpy(addr.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return vl_error_set(err, errno, "create the QMP socket %s", path);
        /* Only a socket may be replaced: the run dir is root's alone. */
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                unlink(path);
        /* bind() creates the node with the umask's mode: 0600 from the start. */
        mode_t old = umask(0177);
        int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
        umask(old);
        if (r < 0 || listen(fd, MONITOR_BACKLOG) < 0) {
                r = vl_error_set(err, errno, "listen on the QMP socket %s", path);
                close(fd);
                return r;
        }
        return fd;
}
