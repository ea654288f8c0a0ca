/* Starting QEMU: fork + execve of an argv (no shell), in its own process group,
 * its affinity and RLIMIT_MEMLOCK set before exec, then as its own user with no
 * capabilities and no_new_privs, a small environment, stdout/stderr on pipes,
 * tracked by a pidfd, no descriptor of ours leaked into it but those passed. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "util/account.h"
#include "util/error.h"
#include "vmdefs/vmdef.h"

/* Descriptors a child can inherit: at 3, 4, ... in the order given. */
#define SPAWN_PASS_FDS_MAX 32

struct spawn_request {
        char *const *argv;                    /* argv[0]: a path or a name looked up in PATH */
        const struct vmdef_cpulist *affinity; /* emulator CPUs; NULL or empty: inherit ours */
        uint64_t memlock_bytes;               /* 0: leave RLIMIT_MEMLOCK as it is */
        /* Optional: called with the child's pid after fork; the child waits for it
         * before it sets its affinity and execs (a cgroup move after that would reset
         * the affinity). A failure ends the child and the spawn. */
        int (*before_exec)(void *userdata, pid_t child, struct vl_error *err);
        void *before_exec_userdata;
        /* Run as this user (its groups, no capabilities, no_new_privs); NULL or
         * root: stay root with vmlaunch's capabilities. */
        const struct vl_account *user;
        /* The whole environment ("K=V", NULL-terminated); NULL: vmlaunch's own. */
        char *const *envp;
        /* Descriptors QEMU gets at 3, 4, ... (e.g. QEMU_ARGV_FD_QMP); -1 leaves that
         * number closed. */
        const int *pass_fds;
        size_t n_pass_fds;
};

struct qemu_proc {
        pid_t pid;  /* 0 once reaped */
        int pidfd;  /* readable when QEMU has exited */
        int out_fd; /* read ends of QEMU's stdout and stderr, non-blocking */
        int err_fd;
};

#define QEMU_PROC_NONE                                                                             \
        {                                                                                          \
                .pid = 0, .pidfd = -1, .out_fd = -1, .err_fd = -1                                  \
        }

/* Starts QEMU. Returns 0, or -errno with err naming the step that failed in the
 * child (affinity, rlimit, exec, ...). Signals blocked in the caller are
 * unblocked in QEMU. */
int spawn_qemu(const struct spawn_request *req, struct qemu_proc *out, struct vl_error *err);

/* Closes the descriptors (does not kill or reap). */
void qemu_proc_close(struct qemu_proc *p);

/* VFIO pins all guest RAM, and the pinned pages count against RLIMIT_MEMLOCK:
 * guest RAM + 1 GiB for the device's own mappings (ROM BARs, MMIO), as libvirt
 * does. 0 when nothing in the definition needs locked memory. */
uint64_t spawn_memlock_bytes(const struct vm_def *def);

/* Finds a program as execvp would: a name with a '/' is used as is.
 * Returns a malloc'd path, or -ENOENT/-EACCES with err set. */
int spawn_find_binary(const char *name, char **path, struct vl_error *err);
