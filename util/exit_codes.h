/* vmlaunch's exit codes, documented in vmlaunch(1). Scripts depend on them:
 * never renumber, only add. */
#pragma once

enum vl_exit {
        VL_EXIT_OK = 0,               /* done; for run: the guest powered off */
        VL_EXIT_FAILURE = 1,          /* an unexpected runtime error */
        VL_EXIT_USAGE = 2,            /* bad command line */
        VL_EXIT_DEFINITION = 3,       /* the VM definition is invalid or unsafe */
        VL_EXIT_HOST_CHECK = 4,       /* the host cannot run this VM (check, run) */
        VL_EXIT_PREPARE = 5,          /* host preparation failed and was rolled back */
        VL_EXIT_QEMU_START = 6,       /* QEMU failed to start or to reach running */
        VL_EXIT_QEMU_CRASHED = 7,     /* QEMU crashed or was killed */
        VL_EXIT_STOPPED = 8,          /* stopped by a signal or `vmlaunch stop` */
        VL_EXIT_RESTORE = 9,          /* some host state was not restored: journal kept */
        VL_EXIT_BUSY = 10,            /* already running, or a journal waits for `restore` */
        VL_EXIT_NOT_IMPLEMENTED = 11, /* a verb this build does not have yet */
        VL_EXIT_TPM_DIED = 12,        /* swtpm (the VM's TPM) died while the guest ran */
        VL_EXIT_NOT_READY = 13,       /* run, start: not ready within [session] ready_timeout */
        VL_EXIT_TIMEOUT = 14,         /* wait, start: --timeout passed first */
        VL_EXIT_NOT_RUNNING = 15,     /* events, wait, guest: the VM is not running, or
                                       * ended before the condition held */
        VL_EXIT_GPU_LOST = 16         /* run: the GPU did not come back healthy: it stays on
                                       * vfio-pci until a host reboot (RUN_DIR/gpu-lost) */
};

/* What `run`'s exit code means, in a few words ("the guest powered off"), for the
 * "exited" event and for `start` quoting a failed unit. */
const char *vl_exit_describe(int code);
