/* The QEMU command line: a pure function of a definition and resolved host facts. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

/* Descriptors QEMU inherits from vmlaunch at these numbers: the listening QMP
 * sockets vmlaunch created in its root-only run dir (the supervisor's and the one
 * `vmlaunch qmp` uses), so QEMU's user needs no access to that dir. */
#define QEMU_ARGV_FD_QMP 3
#define QEMU_ARGV_FD_CTL 4
/* [tpm]: QEMU's end of the control channel of the swtpm vmlaunch started (a
 * connected socket; QEMU sets up the data channel over it). Always reserved, so
 * the taps' numbers do not depend on whether a TPM is there. */
#define QEMU_ARGV_FD_TPM 5
/* [guest] agent: the listening socket RUN_DIR/agent.sock behind the guest agent's
 * virtio-serial port; vmlaunch connects to it as the one client. Always reserved. */
#define QEMU_ARGV_FD_AGENT 6
/* The guest agent's port name, the one qemu-guest-agent opens by default. */
#define QEMU_ARGV_AGENT_PORT "org.qemu.guest_agent.0"
/* Its device id, which QMP's VSERPORT_CHANGE names when the guest opens or closes it. */
#define QEMU_ARGV_AGENT_PORT_ID "agent-port"
/* Bridge networks: vmlaunch opens a tap on the bridge (no setuid
 * qemu-bridge-helper, which the sandbox's spawn=deny would kill anyway) and,
 * with KVM, /dev/vhost-net. The k-th bridge network in definition order gets its
 * tap at QEMU_ARGV_FD_NETS + 2k and its vhost-net at QEMU_ARGV_FD_NETS + 2k + 1. */
#define QEMU_ARGV_FD_NETS     7
#define QEMU_ARGV_FD_TAP(k)   (QEMU_ARGV_FD_NETS + 2 * (int)(k))
#define QEMU_ARGV_FD_VHOST(k) (QEMU_ARGV_FD_NETS + 2 * (int)(k) + 1)

/* What QEMU's seccomp filter denies (libvirt's set): old syscalls, setuid and
 * friends, fork/exec, and changing its own priorities or CPUs. */
#define QEMU_ARGV_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

struct qemu_argv_opts {
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
        /* [smbios] mode = host: the host's DMI strings, QEMU_SMBIOS_N_FIELDS entries in
         * the order of qemu_smbios_fields[] (qemu/qemu_platform.h); NULL or "" entries
         * are left to QEMU. NULL: none were read. */
        const char *const *smbios_host;
        /* Sum of the 64-bit prefetchable memory BARs of the GPU's group, in bytes. */
        uint64_t gpu_bar64_bytes;
        /* The firmware runs Secure Boot's SMM-protected variable store: smm=on on the
         * machine and the flash marked secure, so only SMM code can write the keys. */
        bool firmware_secure;
};

/* vhost-net is used for bridge networks under KVM only (TCG cannot drive it). */
static inline bool qemu_argv_uses_vhost_net(enum vmdef_accel accel)
{
        return accel != VMDEF_ACCEL_TCG;
}

/* Fills argv (items[0] is the binary). Returns 0 or -errno with err set. */
int qemu_argv_build(const struct vm_def *def, const struct qemu_argv_opts *opts,
                    struct vl_strv *argv, struct vl_error *err);
