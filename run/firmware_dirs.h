/* Reads QEMU's firmware descriptor folders the way QEMU's docs/interop/firmware.json
 * says: a file in a later folder replaces the file of the same name in an earlier one,
 * an empty file (or a symlink to /dev/null) hides it, and the result is tried in the
 * order of the file names. */
#pragma once

#include <stddef.h>

#include "qemu/firmware_descriptors.h"
#include "util/error.h"

/* The system folders, lowest precedence first. $XDG_CONFIG_HOME/qemu/firmware, the
 * third folder of the spec, is for user sessions: vmlaunch runs as root for every
 * user, and root's own config home would let one file silently change every VM. */
#define FIRMWARE_DIRS_SYSTEM                                                                       \
        {                                                                                          \
                "/usr/share/qemu/firmware", "/etc/qemu/firmware"                                   \
        }

/* Loads the *.json descriptors of dirs[0..n_dirs) (lowest precedence first; a folder
 * that does not exist adds nothing). A descriptor that cannot be read or parsed is an
 * error naming it: skipping it could choose another firmware than the one the admin
 * installed or overrode (libvirt too refuses to go on). Returns 0 or -errno with err. */
int firmware_dirs_load(const char *const *dirs, size_t n_dirs, struct fwdesc **out, size_t *n_out,
                       struct vl_error *err);
void firmware_dirs_free(struct fwdesc *list, size_t n);
