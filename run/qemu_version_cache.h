/* QEMU's version without running `qemu -version` on every launch: that probe
 * starts a whole QEMU (about 12 ms here, most of what vmlaunch adds to a bare
 * QEMU). Like libvirt's capabilities cache, the answer is kept next to the run
 * dirs (a tmpfs under /run: gone at reboot), keyed by the binary's path and
 * identity (device, inode, size, mtime, ctime): an upgrade replaces the file,
 * so its entry stops matching and QEMU is probed again. The caller confirms
 * the version from QMP's greeting before the guest runs. */
#pragma once

#include <stdbool.h>

#include "util/account.h"
#include "util/error.h"

/* The file, directly in the runtime root: a VM name cannot start with '.'. */
#define QEMU_VERSION_CACHE_FILE ".qemu-versions"

struct qemu_binary_info {
        unsigned version; /* major*10000 + minor*100 + micro */
        bool seccomp;     /* built with seccomp: takes -sandbox */
};

/* What BINARY is, from CACHE_FILE when an entry matches the binary as it is now,
 * otherwise probed and recorded there (CACHE_FILE NULL: probed, nothing written).
 * A probe runs BINARY as USER (NULL: as we are), confined like the VM's QEMU.
 * *probed (may be NULL) says which. A cache that cannot be read or written only costs a
 * probe; errors are those of the probe (or stat of BINARY). */
int qemu_version_cached(const char *binary, const struct vl_account *user, const char *cache_file,
                        struct qemu_binary_info *info, bool *probed, struct vl_error *err);

/* The cache is shared by all VMs: RUN_DIR's parent (the runtime root) holds it.
 * malloc'd; NULL when out of memory. */
char *qemu_version_cache_path(const char *run_dir);
