/* Who holds the GPU open: processes with an fd on the group's device nodes
 * (/dev/nvidia*, its /dev/dri/cardN and renderDN, the sound nodes of its audio function),
 * found by reading /proc/PID/fd links, with the systemd unit from /proc/PID/cgroup. */
#pragma once

#include "hostprep/pci.h"
#include "util/strv.h"

struct gpu_holder {
        int pid;
        char comm[64];
        char unit[256]; /* "" when not in a unit */
        char node[128]; /* the device node held, e.g. /dev/nvidia0 */
};

int holders_scan(const struct pci_group *group, struct gpu_holder **out, size_t *count);
