/* A logind "block" inhibitor: systemd-inhibit(1) does the same from a shell. */
#include "run/inhibit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostprep/dl_systemd.h"
#include "run/runlog.h"
#include "util/cleanup.h"

#define LOGIN_DEST    "org.freedesktop.login1"
#define LOGIN_PATH    "/org/freedesktop/login1"
#define LOGIN_MANAGER "org.freedesktop.login1.Manager"

int inhibit_sleep_take(const char *name)
{
        struct vl_error err = {0};
        if (dl_systemd_open(&err) < 0) {
                runlog(LOG_WARNING, "the host may suspend while the GPU is away: %s", err.msg);
                return -1;
        }
        _cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        char why[160];
        snprintf(why, sizeof(why), "vmlaunch: GPU passed to %s", name);
        int r = sym_sd_bus_open_system(&bus);
        if (r >= 0)
                r = sym_sd_bus_call_method(bus, LOGIN_DEST, LOGIN_PATH, LOGIN_MANAGER, "Inhibit",
                                           &e, &reply, "ssss", "sleep:idle", "vmlaunch", why,
                                           "block");
        int fd = -1;
        if (r >= 0)
                r = sym_sd_bus_message_read(reply, "h", &fd);
        /* the descriptor belongs to the message: keep a copy of our own */
        if (r >= 0) {
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                r = fd < 0 ? -errno : 0;
        }
        if (r < 0) {
                runlog(LOG_WARNING,
                       "the host may suspend while the GPU is away: no logind inhibitor lock: %s",
                       e.message ? e.message : strerror(-r));
                return -1;
        }
        runlog(LOG_INFO, "holding a logind inhibitor lock (sleep, idle): %s", why);
        return fd;
}

void inhibit_sleep_release(int *fd)
{
        if (*fd < 0)
                return;
        close(*fd);
        *fd = -1;
        runlog(LOG_INFO, "released the logind inhibitor lock: the host may sleep again");
}
