/* [firmware] resolved on this host: the OVMF build from QEMU's firmware descriptors
 * (unless code and vars_template are given), whether it runs with SMM and secure
 * pflash, and a VM's existing vars checked against secure_boot. Shared by plan, check
 * and run through host_facts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "vmdefs/vmdef.h"

struct firmware_choice {
        bool secure;          /* smm=on and secure pflash */
        char descriptor[512]; /* the chosen descriptor's path; "" when none was used */
        char reason[512];     /* one line for plan and check; "" for type = bios */
};

/* Fills def->ovmf_code and def->ovmf_vars_template when the definition left them
 * out, from the descriptors in dirs (lowest precedence first, FIRMWARE_DIRS_SYSTEM in
 * production). Returns 0, or -errno with err naming the descriptor, the missing build
 * and its package, or the vars file that lacks the keys secure_boot needs. */
int firmware_choice_resolve(struct vm_def *def, const char *const *dirs, size_t n_dirs,
                            struct firmware_choice *out, struct vl_error *err);

/* Whether the VM's existing vars file (if any) can run with secure_boot = yes: it must
 * hold enrolled keys, or the guest would boot without Secure Boot while the definition
 * says it has it. Returns 0 (no file yet, or keys present) or -errno with err. */
int firmware_choice_check_vars(const struct vm_def *def, struct vl_error *err);
