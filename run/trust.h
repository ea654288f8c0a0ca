/* What root runs or opens for a definition must be root's (StrictModes): its hooks and
 * the folder its UEFI variables are created in. `check` and `run` refuse the
 * definition (exit 3) before anything else when this finds a problem. And what root
 * hands QEMU's user must be reached without a symlink someone else could have made. (The definition
 * file and its folders are checked when it is loaded: vmdefs/load.c.) */
#pragma once

#include "vmdefs/vmdef.h"

/* Adds one error per refusal to diags, naming the path and the chown/chmod that fixes
 * it. Returns how many refusals there were, or -ENOMEM. */
int trust_check(const struct vm_def *def, struct vmdef_diags *diags);
