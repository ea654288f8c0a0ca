/* The VM's own copy of the UEFI variables (boot entries, Secure Boot keys). */
#pragma once

#include <stdbool.h>

#include "util/error.h"
#include "vmdefs/vmdef.h"

/* Creates [firmware] vars from vars_template when it does not exist yet (mode 0600,
 * parent folders 0700): the VM's boot entries persist across runs, so an existing
 * file is never touched. *created tells whether a copy was made. */
int ovmf_vars_ensure(const struct vm_def *def, bool *created, struct vl_error *err);
