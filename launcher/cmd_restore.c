/* vmlaunch restore NAME: replay the journal a killed vmlaunch left in RUN_DIR, so the
 * host gets its drivers, modules, consoles, framebuffer, hugepages, governors and
 * units back. Harmless when there is nothing to restore (vmlaunch@.service runs it as
 * ExecStopPost) and when run twice: every undo is idempotent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hostprep/gpu_lost.h"
#include "hostprep/hostprep.h"
#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "util/exit_codes.h"
#include "run/leftover_qemu.h"
#include "run/runlog.h"
#include "run/runstate.h"
#include "util/cleanup.h"

static void log_line(void *userdata, int priority, const char *line)
{
        (void)userdata;
        runlog(priority, "%s", line);
}

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch restore NAME\n"
                "Puts the host back after a vmlaunch that was killed, from the journal in $VMLAUNCH_RUNTIME_DIR/NAME (default /run/vmlaunch/NAME).\n");
}

static const struct option restore_options[] = {
        {"help", no_argument, NULL, 'h'},
        {0},
};

int cmd_restore(int argc, char **argv)
{
        const char *name = NULL;
        struct vl_cli_parser p = vl_cli_parser("restore", argc, argv, "-:h", restore_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("restore", "NAME", arg, &name) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!name) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        struct vl_error err = {0};
        _cleanup_free_ char *dir = NULL;
        if (runstate_dir(name, &dir, &err) < 0) {
                fprintf(stderr, "vmlaunch restore: %s\n", err.msg);
                return VL_EXIT_USAGE;
        }
        /* Held while restoring, so no run of NAME can start meanwhile; none when the run
         * dir is gone (nothing to restore). */
        int lock_fd = access(dir, F_OK) == 0 ? runstate_lock(dir, name, &err) : -ENOENT;
        if (lock_fd == -EBUSY) {
                fprintf(stderr,
                        "vmlaunch restore: %s is running; its vmlaunch restores the host when the VM ends (`vmlaunch stop %s`)\n",
                        name, name);
                return VL_EXIT_BUSY;
        }
        /* The run's vmlaunch is gone (we hold its lock), but its QEMU may not be: the
         * host is undone only once nothing of the run uses it. */
        if (lock_fd >= 0) {
                struct leftover_qemu_opts qopts = {.run_dir = dir,
                                                   .name = name,
                                                   .term_wait_ms = LEFTOVER_QEMU_TERM_WAIT_MS,
                                                   .kill_wait_ms = LEFTOVER_QEMU_KILL_WAIT_MS,
                                                   .log = log_line};
                if (leftover_qemu_end(&qopts, &err) < 0) {
                        fprintf(stderr, "vmlaunch restore: %s\n", err.msg);
                        close(lock_fd);
                        return VL_EXIT_FAILURE;
                }
        }
        struct hostprep_options opts = {.run_dir = dir, .log = log_line};
        struct hostprep_report report;
        int r = hostprep_restore(&opts, &report, &err);
        int code = VL_EXIT_OK;
        bool report_nothing = r == 0 && report.nothing_to_restore;
        if (report_nothing) {
                printf("nothing to restore for %s\n", name);
        } else if (r == 0) {
                printf("restored the host for %s\n", name);
        } else {
                for (size_t i = 0; i < report.n_failures; i++)
                        fprintf(stderr, "vmlaunch restore: %s\n", report.failures[i]);
                fprintf(stderr, "vmlaunch restore: %s\n", err.msg);
                /* a journal it refuses to act on (not root's) restores nothing: 9 too */
                code = report.n_failures || err.errnum == EPERM ? VL_EXIT_RESTORE : VL_EXIT_FAILURE;
        }
        hostprep_report_free(&report);
        /* A GPU the restore found unhealthy stayed on vfio-pci (RUN_DIR/gpu-lost). */
        struct hostprep_gpu_lost lost;
        bool stale;
        if (!report_nothing && hostprep_gpu_lost_read(dir, &lost, &stale) > 0) {
                for (size_t i = 0; i < lost.count; i++)
                        fprintf(stderr,
                                "vmlaunch restore: %s did not come back healthy (%s): it stays on vfio-pci; this GPU needs a host reboot\n",
                                lost.entries[i].addr, lost.entries[i].reason);
                hostprep_gpu_lost_free(&lost);
                if (code == VL_EXIT_OK || r == -EIO)
                        code = VL_EXIT_GPU_LOST;
        }
        /* The killed run's state file, sockets and lock go with the journal: the run dir
         * is left only while a journal waits for another restore. */
        if (r == 0 && lock_fd >= 0)
                runstate_cleanup(dir, lock_fd);
        else if (lock_fd >= 0)
                close(lock_fd);
        return code;
}
