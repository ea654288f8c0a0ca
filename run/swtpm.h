/* [tpm]: the VM's TPM 2.0, emulated by swtpm running as QEMU's user, confined like
 * QEMU (run/spawn.h), with its own seccomp filter. Its state is persistent VM state,
 * like the UEFI variables: STATE_DIR (root's, checked like the vars folder) holds
 * state/ and localca/ (the VM's own certificate authority for its EK and platform
 * certificates), both owned by QEMU's user, made once by swtpm_setup and kept. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "run/spawn.h"
#include "util/account.h"
#include "util/error.h"
#include "vmdefs/vmdef.h"

/* Debian packages that bring the programs, for messages. */
#define SWTPM_PACKAGE       "swtpm"
#define SWTPM_SETUP_PACKAGE "swtpm-tools"

/* How long swtpm_setup may take to manufacture the TPM (key generation), and how
 * long swtpm may take to answer on its control channel. */
#define SWTPM_SETUP_TIMEOUT_MS   60000
#define SWTPM_STARTUP_TIMEOUT_MS 10000

/* swtpm and swtpm_setup are installed: 0, or -ENOENT with err naming the package. */
int swtpm_check_installed(struct vl_error *err);

/* The state dir (or the nearest folder of it that exists) is trusted and what is in
 * it has the expected kinds: 0, or -EPERM with err naming the path and the fix. */
int swtpm_state_check(const struct vm_def *def, struct vl_error *err);

/* Creates the state dir's missing folders (root's, 0711), state/ and localca/
 * (QEMU's user's, 0700), and on first use runs swtpm_setup as QEMU's user, waiting
 * for it while watching signal_fd (a stop signal cancels it: -ECANCELED). *created
 * says whether the TPM was manufactured now. */
int swtpm_state_ensure(const struct vm_def *def, const struct vl_account *user, int signal_fd,
                       bool *created, struct vl_error *err);

/* Starts swtpm on a socketpair and waits (deadline, signal_fd watched) until its
 * control channel answers CMD_GET_CAPABILITY. *qemu_fd is the other end, for QEMU
 * at QEMU_ARGV_FD_TPM: swtpm ends itself when QEMU's end closes (--terminate). */
int swtpm_start(const struct vm_def *def, const struct vl_account *user, int signal_fd,
                struct qemu_proc *out, int *qemu_fd, struct vl_error *err);

/* Ends swtpm (SIGTERM, SIGKILL after a grace period), reaps it and closes its
 * descriptors; *wait_status (may be NULL) gets its status, last_line (may be NULL)
 * the last line it printed, or "". Safe on QEMU_PROC_NONE. */
void swtpm_end(struct qemu_proc *p, int *wait_status, char *last_line, size_t len);
