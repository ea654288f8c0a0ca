/* `vmlaunch restore` after a vmlaunch that was killed: its QEMU may outlive it (it
 * gets SIGTERM through PR_SET_PDEATHSIG, but exits in its own time), and the host must
 * not be undone under a QEMU that still holds the GPU, the hugepages and the disks. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* How long QEMU gets after SIGTERM (it quits at once, but releasing VFIO devices and
 * guest RAM takes time on a big guest), and after SIGKILL. */
#define LEFTOVER_QEMU_TERM_WAIT_MS 10000
#define LEFTOVER_QEMU_KILL_WAIT_MS 10000

/* The start time of a process (field 22 of /proc/PID/stat, clock ticks since boot):
 * with the pid, it names one process for good, even once the pid is reused.
 * Returns 0 or -errno (-ESRCH when there is no such process). */
int leftover_qemu_start_time(pid_t pid, uint64_t *ticks);

struct leftover_qemu_opts {
        const char *run_dir; /* RUN_DIR, whose state file names the run's QEMU */
        const char *name;    /* the VM's name, for messages */
        int term_wait_ms, kill_wait_ms;
        void (*log)(void *userdata, int priority, const char *line);
        void *log_userdata;
};

/* Call with RUN_DIR's lock held (so the run's vmlaunch is gone). When the state file
 * names a QEMU that is still alive and is provably that QEMU (same start time), ends
 * it: SIGTERM, a bounded wait on its pidfd, then SIGKILL and another bounded wait.
 * Logs each step. Returns 0 when no QEMU of this run is alive any more, or -errno with
 * err set (QEMU still alive after SIGKILL: the host must not be restored yet). */
int leftover_qemu_end(const struct leftover_qemu_opts *opts, struct vl_error *err);
