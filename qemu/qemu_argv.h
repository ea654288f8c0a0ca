/* The QEMU command line: a pure function of a definition and resolved host facts. */
#pragma once

#include <stdbool.h>

#include "util/error.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

struct qemu_argv_opts {
        /* Where the QMP sockets live: RUN_DIR/QMP_SOCKET (the supervisor's) and
         * RUN_DIR/CTL_SOCKET (for `vmlaunch qmp`). The caller names them (run/runstate.h
         * has the names); all three are required. */
        const char *run_dir;
        const char *qmp_socket;
        const char *ctl_socket;
        /* The GPU's IOMMU group as found on the host (function 0 first). NULL: use
         * the definition's `group`, or the GPU address alone. */
        const struct vmdef_pci_addr *gpu_group;
        size_t n_gpu_group;
        /* Accelerator after resolving `auto` (KVM usable?); AUTO here means KVM. */
        enum vmdef_accel accel;
        /* Bind guest memory to this host NUMA node (the vCPUs' node, where the
         * hugepages were reserved). */
        bool bind_numa_node;
        unsigned numa_node;
        /* QEMU's version, major*10000 + minor*100 + micro, checked against
         * qemu_compat's table of features; 0: assume the newest. */
        unsigned qemu_version;
};

/* Fills argv (items[0] is the binary). Returns 0 or -errno with err set. */
int qemu_argv_build(const struct vm_def *def, const struct qemu_argv_opts *opts,
                    struct vl_strv *argv, struct vl_error *err);
