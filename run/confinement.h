/* Who QEMU runs as and what confines it, checked the same way by `check` and by
 * `run` before anything changes: the QEMU binary and its version, the seccomp
 * support -sandbox needs, and [qemu] user. */
#pragma once

#include "run/qemu_version_cache.h"
#include "util/account.h"
#include "vmdefs/vmdef.h"

/* Adds a diagnostic (with the key's line) for each problem. On success *qemu and
 * *user are filled (the caller frees user with vl_account_free). VERSION_CACHE:
 * see qemu_version_cached (NULL for `check`, which writes nothing). Returns < 0 only when out of
 * memory. */
int confinement_check(const struct vm_def *def, const char *version_cache,
                      struct qemu_binary_info *qemu, struct vl_account *user,
                      struct vmdef_diags *diags);
