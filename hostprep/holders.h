/* Who holds the GPU open: processes with an fd on the group's device nodes
 * (/dev/nvidia*, its /dev/dri/cardN and renderDN, the sound nodes of its audio function),
 * found by reading /proc/PID/fd links, with the systemd unit from /proc/PID/cgroup. */
#pragma once

#include <stdint.h>

#include "hostprep/pci.h"
#include "util/strv.h"

struct gpu_holder {
        int pid;
        char comm[64];
        char unit[256]; /* "" when not in a unit */
        char node[128]; /* the device node held, e.g. /dev/nvidia0 */
        /* A login session's process (unit "session-N.scope"): the unit of the nearest
         * ancestor outside that scope, e.g. gdm.service for the greeter's gnome-shell
         * or a Wayland session gdm started; "" when none. */
        char session_started_by[256];
        int user_manager_uid; /* in a unit of user@UID.service; -1 when not */
};

int holders_scan(const struct pci_group *group, struct gpu_holder **out, size_t *count);

/* The units that started user uid's login sessions (each session-N.scope under
 * user-UID.slice, see session_started_by), e.g. gdm.service for a GNOME session. */
int holders_user_session_starters(int uid, struct vl_strv *starters);

struct hostprep_process_ops;
/* Waits, until deadline_ms (CLOCK_MONOTONIC), for every process that holds the group's
 * device nodes to exit, rescanning after each round (a holder may hand the node on).
 * 0: none left. -EBUSY: *left (malloc'd) are the survivors. Other -errno: err. */
int holders_wait_gone(const struct pci_group *group, const struct hostprep_process_ops *ops,
                      uint64_t deadline_ms, struct gpu_holder **left, size_t *n_left,
                      struct vl_error *err);

/* The default process ops: pidfd_open + one poll over all of them. */
extern const struct hostprep_process_ops hostprep_pidfd_processes;
