#include "run/gpu_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostprep/sysroot.h"
#include "run/gpu_signals.h"
#include "run/runlog.h"
#include "util/strv.h"

/* A kmsg record is at most about 1 KiB of text plus its dictionary; a uevent at most
 * 2 KiB (UEVENT_BUFFER_SIZE) plus its header. */
#define RECORD_MAX 8192
/* The kernel's own uevents, not udev's re-broadcast (group 2). */
#define UEVENT_KERNEL_GROUP 1

struct gpu_watch {
        struct vl_strv group;
        int kmsg_fd, uevent_fd;
        gpu_watch_lost_fn lost;
        void *userdata;
        char lost_addr[16];
        bool stop_asked;
};

static int open_kmsg(struct vl_error *err)
{
        char path[4096];
        if (sysroot_path(path, sizeof(path), "/dev/kmsg") < 0)
                return vl_error_set(err, ENAMETOOLONG, "/dev/kmsg");
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return vl_error_set(err, errno, "open %s", path);
        /* only what happens from now on (a test's FIFO has no past: ESPIPE) */
        if (lseek(fd, 0, SEEK_END) < 0 && errno != ESPIPE) {
                int e = errno;
                close(fd);
                return vl_error_set(err, e, "seek to the end of %s", path);
        }
        return fd;
}

static int open_uevents(struct vl_error *err)
{
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        NETLINK_KOBJECT_UEVENT);
        if (fd < 0)
                return vl_error_set(err, errno, "open a kernel uevent socket");
        struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = UEVENT_KERNEL_GROUP};
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
                int e = errno;
                close(fd);
                return vl_error_set(err, e, "listen to kernel uevents");
        }
        return fd;
}

int gpu_watch_open(const char *const *group, size_t n, gpu_watch_lost_fn lost, void *userdata,
                   struct gpu_watch **out, struct vl_error *err)
{
        struct gpu_watch *w = calloc(1, sizeof(*w));
        if (!w)
                return vl_error_set(err, ENOMEM, "watch the GPU");
        *w = (struct gpu_watch){.kmsg_fd = -1, .uevent_fd = -1, .lost = lost, .userdata = userdata};
        for (size_t i = 0; i < n; i++)
                if (vl_strv_push(&w->group, group[i]) < 0) {
                        gpu_watch_close(w);
                        return vl_error_set(err, ENOMEM, "watch the GPU");
                }
        struct vl_error kerr = {0}, uerr = {0};
        w->kmsg_fd = open_kmsg(&kerr);
        w->uevent_fd = open_uevents(&uerr);
        if (w->kmsg_fd < 0 && w->uevent_fd < 0) {
                gpu_watch_close(w);
                return vl_error_set(err, kerr.errnum, "%s; %s", kerr.msg, uerr.msg);
        }
        if (w->kmsg_fd < 0)
                runlog(LOG_WARNING,
                       "%s: a removal of the GPU that waits on QEMU is noticed only once QEMU ends",
                       kerr.msg);
        if (w->uevent_fd < 0)
                runlog(LOG_WARNING, "%s: the GPU is watched through the kernel log only", uerr.msg);
        *out = w;
        return 0;
}

void gpu_watch_close(struct gpu_watch *w)
{
        if (!w)
                return;
        if (w->kmsg_fd >= 0)
                close(w->kmsg_fd);
        if (w->uevent_fd >= 0)
                close(w->uevent_fd);
        vl_strv_free(&w->group);
        free(w);
}

size_t gpu_watch_pollfds(void *userdata, struct pollfd *fds, size_t max)
{
        struct gpu_watch *w = userdata;
        size_t n = 0;
        if (n < max)
                fds[n++] = (struct pollfd){.fd = w->kmsg_fd, .events = POLLIN};
        if (n < max)
                fds[n++] = (struct pollfd){.fd = w->uevent_fd, .events = POLLIN};
        return n;
}

static void noticed(struct gpu_watch *w, const char *addr, const char *how)
{
        if (w->lost_addr[0])
                return; /* said once; the kernel repeats its request every 10 s */
        snprintf(w->lost_addr, sizeof(w->lost_addr), "%s", addr);
        if (w->lost)
                w->lost(w->userdata, addr, how);
}

static void read_kmsg(struct gpu_watch *w)
{
        char buf[RECORD_MAX];
        for (;;) {
                ssize_t r = read(w->kmsg_fd, buf, sizeof(buf));
                if (r < 0 && (errno == EINTR || errno == EPIPE))
                        continue; /* EPIPE: records were overwritten before we read them */
                if (r < 0 && errno == EAGAIN)
                        return;
                if (r <= 0) {
                        runlog(LOG_WARNING,
                               "reading /dev/kmsg: %s: the GPU is no longer watched there",
                               r < 0 ? strerror(errno) : "end of file");
                        close(w->kmsg_fd);
                        w->kmsg_fd = -1;
                        return;
                }
                const char *addr = gpu_signal_kmsg(
                        buf, (size_t)r, (const char *const *)w->group.items, w->group.count);
                if (addr)
                        noticed(w, addr,
                                "the host is removing it and asked QEMU to let go (vfio-pci device request)");
        }
}

static void read_uevents(struct gpu_watch *w)
{
        char buf[RECORD_MAX];
        for (;;) {
                struct sockaddr_nl from = {0};
                socklen_t from_len = sizeof(from);
                ssize_t r = recvfrom(w->uevent_fd, buf, sizeof(buf), MSG_TRUNC,
                                     (struct sockaddr *)&from, &from_len);
                if (r < 0 && (errno == EINTR || errno == ENOBUFS))
                        continue; /* ENOBUFS: the socket overflowed, later ones still come */
                if (r < 0 && errno == EAGAIN)
                        return;
                if (r < 0) {
                        runlog(LOG_WARNING, "reading kernel uevents: %s", strerror(errno));
                        close(w->uevent_fd);
                        w->uevent_fd = -1;
                        return;
                }
                /* only the kernel speaks with port 0; a truncated one is no uevent we want */
                if (from.nl_pid != 0 || (size_t)r > sizeof(buf))
                        continue;
                const char *addr = gpu_signal_uevent(
                        buf, (size_t)r, (const char *const *)w->group.items, w->group.count);
                if (addr)
                        noticed(w, addr, "removed from the PCI bus");
        }
}

void gpu_watch_dispatch(void *userdata, const struct pollfd *fds, size_t n, long long now_ms)
{
        struct gpu_watch *w = userdata;
        (void)now_ms;
        for (size_t i = 0; i < n; i++) {
                if (!fds[i].revents || fds[i].fd < 0)
                        continue;
                if (fds[i].fd == w->kmsg_fd)
                        read_kmsg(w);
                else if (fds[i].fd == w->uevent_fd)
                        read_uevents(w);
        }
}

bool gpu_watch_stop_reason(void *userdata, char *why, size_t len)
{
        struct gpu_watch *w = userdata;
        if (!w->lost_addr[0] || w->stop_asked)
                return false;
        w->stop_asked = true;
        snprintf(why, len, "gpu-lost");
        return true;
}
