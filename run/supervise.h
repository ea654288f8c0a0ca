/* Supervising a running QEMU: one poll loop over the QMP socket, a signalfd,
 * QEMU's pidfd and its output pipes, with no timer while nothing happens.
 * SIGTERM/SIGINT/SIGHUP shut the guest down: ACPI powerdown (repeated, since
 * Windows may ignore the first), `quit` after the shutdown timeout, SIGKILL
 * after a grace period. A second SIGINT forces it. */
#pragma once

#include <poll.h>
#include <stdbool.h>

#include "run/event_hub.h"
#include "run/qemu_output.h"
#include "run/spawn.h"
#include "util/error.h"

struct json_object;
struct qmp_client;

/* How often the ACPI power button is pressed again while waiting. */
#define SUPERVISE_POWERDOWN_REPEAT_MS 5000
/* How long QEMU gets to exit after `quit` before SIGKILL. */
#define SUPERVISE_KILL_GRACE_MS 5000

enum supervise_end {
        SUPERVISE_GUEST_POWEROFF, /* the guest powered itself off */
        SUPERVISE_STOPPED,        /* stopped on request: a signal, or `quit` over ctl.qmp */
        SUPERVISE_CRASHED,        /* QEMU died otherwise (crash, kill, guest panic) */
        SUPERVISE_COMPANION_DIED, /* a process the VM needs (swtpm) died: QEMU was ended */
        SUPERVISE_WATCHER_ENDED   /* a watcher said the guest must end (the GPU is gone):
                                   * it was shut down like on a stop request */
};

struct supervise_result {
        enum supervise_end end;
        int wait_status;  /* from waitpid */
        char detail[256]; /* one line for the log: what ended it */
};

/* Something else the loop watches (the events socket, the guest agent): its
 * descriptors join the poll; dispatch runs after every wake-up with their revents
 * (and may act on its own deadlines). */
#define SUPERVISE_WATCHERS_MAX 4
#define SUPERVISE_WATCHER_FDS  (EVENT_HUB_MAX_CLIENTS + 8)
struct supervise_watcher {
        void *userdata;
        size_t (*pollfds)(void *userdata, struct pollfd *fds, size_t max);
        void (*dispatch)(void *userdata, const struct pollfd *fds, size_t n, long long now_ms);
        /* Optional: its next deadline (CLOCK_MONOTONIC ms), or -1 for none. */
        long long (*deadline_ms)(void *userdata);
        /* Optional, asked after dispatch: true when what it watches means the guest must
         * end (the GPU vanished); why: a short reason ("gpu-lost") for the stopping
         * event and the log. The guest is then shut down as on SIGTERM. */
        bool (*stop_reason)(void *userdata, char *why, size_t len);
};

struct supervise_params {
        struct qmp_client *qmp;
        struct qemu_proc *proc; /* reaped on return: pid set to 0 */
        struct qemu_output *output;
        int signal_fd;
        unsigned shutdown_timeout_s;
        /* A process the guest depends on (swtpm), watched with QEMU: when it dies
         * while the guest runs, QEMU is told to quit. -1: none. Not reaped here. */
        int companion_pidfd;
        const char *companion_name; /* for the log: "swtpm (the TPM)" */
        /* Called once when a stop begins (state file, sd_notify STOPPING=1); why:
         * "SIGTERM", "quit requested", ... */
        void (*on_stopping)(void *userdata, const char *why);
        /* Optional: every QMP event of the guest, after the supervisor's own handling. */
        void (*on_qmp_event)(void *userdata, const char *event, struct json_object *data);
        /* Optional, when a stop begins: try a gentler shutdown than ACPI first (the
         * guest agent); true when asked, and the power button then waits one round. */
        bool (*gentle_shutdown)(void *userdata);
        void *userdata;
        struct supervise_watcher watchers[SUPERVISE_WATCHERS_MAX];
        size_t n_watchers;
};

/* Blocks SIGTERM, SIGINT, SIGHUP and SIGCHLD and returns a signalfd for them
 * (non-blocking, close-on-exec). QEMU gets them unblocked again at spawn. */
int supervise_signals_open(struct vl_error *err);

/* Consumes a pending SIGCHLD, leaving stop signals in the signalfd. */
void supervise_drop_sigchld(void);

/* Runs until QEMU has exited and was reaped. Installs its own event handler on
 * the QMP client and logs guest events. */
int supervise_run(const struct supervise_params *p, struct supervise_result *res,
                  struct vl_error *err);

/* Ends a QEMU whose launch failed: `quit` over QMP (or SIGTERM when qmp is
 * NULL), SIGKILL after the grace period, reaped, its output forwarded. */
void supervise_end_qemu(struct qmp_client *qmp, struct qemu_proc *proc, struct qemu_output *output,
                        int *wait_status);

/* Describes a waitpid status: "exited with status 1", "was killed by SIGKILL". */
void supervise_describe_status(int wait_status, char *buf, size_t len);
