/* The VM's own copy of the UEFI variables (boot entries, Secure Boot keys). */
#pragma once

#include <stdbool.h>

#include "util/error.h"
#include "vmdefs/vmdef.h"

/* Creates [firmware] vars from vars_template when it does not exist yet (mode 0600,
 * missing parent folders 0711: QEMU's user passes them): the VM's boot entries
 * persist across runs, so an existing file is never touched. *created tells whether
 * a copy was made. */
/* Root creates the copy in [firmware] vars' folder, so that folder (or the nearest one
 * that exists) must be trusted (util/trusted_path.h), and the vars file, when there,
 * a regular file, not a symlink. The template is read without following a symlink
 * that someone other than root could have made. */
int ovmf_vars_ensure(const struct vm_def *def, bool *created, struct vl_error *err);

/* The same checks without creating anything (check, and run before any change):
 * 0, or -EPERM with err naming the path and the fix. */
int ovmf_vars_check(const struct vm_def *def, struct vl_error *err);
