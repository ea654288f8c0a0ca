/* One VM run from lock to restore; run_lifecycle() is the whole story in order. */
#include "run/run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <json-c/json.h>
#include <time.h>
#include <unistd.h>

#include "hostprep/gpu_lost.h"
#include "hostprep/hostprep.h"
#include "qemu/kvm_probe.h"
#include "qemu/qemu_argv.h"
#include "qemu/qemu_compat.h"
#include "qemu/qemu_env.h"
#include "qmp/qmp.h"
#include "run/bridge_tap.h"
#include "run/confinement.h"
#include "run/gpu_watch.h"
#include "run/guest_agent.h"
#include "run/host_facts.h"
#include "run/inhibit.h"
#include "run/leftover_qemu.h"
#include "run/monitor_socket.h"
#include "run/ovmf_vars.h"
#include "run/pin.h"
#include "run/qemu_output.h"
#include "run/qemu_version_cache.h"
#include "run/readiness.h"
#include "run/runlog.h"
#include "run/runstate.h"
#include "run/session.h"
#include "run/spawn.h"
#include "run/supervise.h"
#include "run/swtpm.h"
#include "run/trust.h"
#include "run/vnc.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/exit_codes.h"
#include "util/macro.h"
#include "util/notify.h"
#include "util/poll_extra.h"
#include "util/stop_signal.h"
#include "util/strv.h"

extern char **environ;

/* QEMU creates its monitor socket early, but answers only once the machine is
 * built, which includes preallocating (and zeroing) all guest RAM. */
#define QMP_CONNECT_TIMEOUT_MS   30000
#define QMP_HANDSHAKE_TIMEOUT_MS 120000
#define QMP_COMMAND_TIMEOUT_MS   10000
#define QEMU_EXIT_WAIT_MS        2000
#define QEMU_SCOPE_TIMEOUT_MS    10000

struct run {
        struct vm_def *def;
        char *run_dir;
        int lock_fd;
        int signal_fd;
        struct qemu_proc proc;
        struct qemu_proc swtpm; /* [tpm]: started before QEMU, ended after it */
        int tpm_fd;             /* QEMU's end of swtpm's control channel, until spawned */
        struct qemu_output output;
        struct qmp_client *qmp;
        struct session *session;   /* state file and events, from the lock to the end */
        struct guest_agent *agent; /* [guest] agent, once QEMU listens on its port */
        struct readiness ready;    /* [session] ready */
        char end_detail[1280];     /* what ended the run, for the "exited" event */
        unsigned qemu_version;
        struct vl_account qemu_user; /* [qemu] user, looked up before any change */
        struct host_facts facts;     /* accelerator, GPU group, pins as resolved */
        bool qmp_ready;              /* capabilities negotiated: QEMU takes commands */
};

static void host_log(void *userdata, int priority, const char *line)
{
        (void)userdata;
        runlog(priority, "%s", line);
}

/* Host steps as events: preparing(step), step-done, step-undone, undo-failed. */
static void host_progress(void *userdata, enum hostprep_progress what, const char *step,
                          const char *desc)
{
        struct run *run = userdata;
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "step", json_object_new_string(step));
        if (desc)
                json_object_object_add(f, "change", json_object_new_string(desc));
        switch (what) {
        case HOSTPREP_STEP_BEGIN:
                session_enter(run->session, SESSION_PREPARING, step, "preparing", f);
                return;
        case HOSTPREP_STEP_DONE:
                session_event(run->session, "step-done", f);
                return;
        case HOSTPREP_CHANGE_UNDONE:
        case HOSTPREP_UNDO_FAILED:
                if (session_state(run->session) != SESSION_RESTORING)
                        session_enter(run->session, SESSION_RESTORING, step, "restoring", NULL);
                session_event(run->session,
                              what == HOSTPREP_CHANGE_UNDONE ? "step-undone" : "undo-failed", f);
                return;
        }
        json_object_put(f);
}

static void report_failures(const struct hostprep_report *report)
{
        for (size_t i = 0; i < report->n_failures; i++)
                runlog(LOG_ERR, "  %s", report->failures[i]);
}

/* Host preparation (display manager, consoles, drivers, vfio-pci, hugepages,
 * governor, prepare hooks) runs here, before QEMU exists; every change is journaled
 * first, and a failure has already been rolled back when this returns. *left counts
 * the changes the rollback could not undo (their journal stays for `restore`). */
static int host_prepare(struct run *run, size_t *left, struct vl_error *err)
{
        struct hostprep_options opts = {.run_dir = run->run_dir,
                                        .log = host_log,
                                        .log_userdata = run,
                                        .progress = host_progress,
                                        .stop_on_signal = true};
        struct hostprep_report report = {0};
        int r = hostprep_prepare(run->def, &opts, &report, err);
        *left = report.n_failures;
        if (r < 0 && report.n_failures) {
                runlog(LOG_ERR, "rolling back left these changes in place:");
                report_failures(&report);
        }
        hostprep_report_free(&report);
        return r;
}

/* And is undone here, once QEMU is gone for whatever reason. Returns < 0 when
 * some host state could not be put back (the journal stays for `vmlaunch restore`). */
static int host_restore(struct run *run, struct vl_error *err)
{
        struct hostprep_options opts = {.run_dir = run->run_dir,
                                        .log = host_log,
                                        .log_userdata = run,
                                        .progress = host_progress};
        struct hostprep_report report = {0};
        int r = hostprep_restore(&opts, &report, err);
        if (r == 0 && report.nothing_to_restore)
                runlog(LOG_INFO, "the host is as it was: this run changed nothing on it");
        else if (r == 0)
                runlog(LOG_INFO, "the host is as it was: %zu change(s) undone (above)",
                       report.n_undone);
        if (r < 0) {
                report_failures(&report);
                if (report.journal_kept)
                        runlog(LOG_ERR,
                               "the journal is kept: fix the cause, then run `vmlaunch restore %s`",
                               run->def->name);
        }
        hostprep_report_free(&report);
        return r;
}

static void log_diags(const struct vmdef_diags *diags, const char *path)
{
        char line[1024];
        for (size_t i = 0; i < diags->count; i++) {
                vmdef_diag_format(&diags->items[i], path, line, sizeof(line));
                runlog(diags->items[i].severity == VMDEF_ERROR ? LOG_ERR : LOG_WARNING, "%s", line);
        }
}

/* What this host must have for the definition: its files, a usable accelerator,
 * the GPU's group, pins on CPUs that exist (vcpu_pin = auto resolved here), and
 * nothing that host preparation would refuse. */
static int check_host(struct run *run, struct vl_error *err)
{
        struct vmdef_diags diags = {0};
        struct host_facts_opts opts = {.mode = HOST_FACTS_STRICT, .topology_origin = TOPOLOGY_HOST};
        vmdef_check_files(run->def, VMDEF_ERROR, &diags);
        int r = host_facts_resolve(run->def, &opts, &run->facts, &diags, err);
        /* Only when the facts hold: a missing group is already reported above. */
        if (r == 0 && !diags.n_errors && host_facts_check_steps(run->def, &run->facts, &diags) < 0)
                r = vl_error_set(err, ENOMEM, "check the host");
        if (r == 0) {
                log_diags(&diags, run->def->path);
                if (diags.n_errors)
                        r = vl_error_set(err, 0, "%s: this host cannot run it (%zu problem%s)",
                                         run->def->name, diags.n_errors,
                                         diags.n_errors == 1 ? "" : "s");
        }
        for (size_t i = 0; r == 0 && i < run->facts.pin_reasons.count; i++)
                runlog(LOG_INFO, "vcpu_pin = auto: %s", run->facts.pin_reasons.items[i]);
        vmdef_diags_free(&diags);
        return r;
}

static void on_stopping(void *userdata, const char *why)
{
        struct run *run = userdata;
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "reason", json_object_new_string(why));
        session_enter(run->session, SESSION_STOPPING, NULL, "stopping", f);
        vl_notify("STOPPING=1\nSTATUS=Shutting the guest down");
}

/* The guest's QMP events, as events of the run; SHUTDOWN also means stopping. */
static void on_qmp_event(void *userdata, const char *event, struct json_object *data)
{
        static const struct {
                const char *qmp, *event, *guest;
        } map[] = {
                {"SHUTDOWN", "shutdown", "shutdown"},
                {"POWERDOWN", "powerdown", NULL},
                {"RESET", "reset", NULL},
                {"STOP", "paused", "paused"},
                {"RESUME", "resumed", "running"},
                {"GUEST_PANICKED", "panicked", NULL},
        };
        struct run *run = userdata;
        struct json_object *id, *open;
        if (streq(event, "VSERPORT_CHANGE") && data && json_object_object_get_ex(data, "id", &id) &&
            streq(json_object_get_string(id), QEMU_ARGV_AGENT_PORT_ID) &&
            json_object_object_get_ex(data, "open", &open)) {
                bool is_open = json_object_get_boolean(open);
                runlog(LOG_INFO, "the guest %s the guest agent's port",
                       is_open ? "opened" : "closed");
                guest_agent_port_changed(run->agent, is_open, vl_monotonic_ms());
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(map); i++) {
                if (!streq(event, map[i].qmp))
                        continue;
                if (map[i].guest)
                        session_set_guest(run->session, map[i].guest);
                struct json_object *f = json_object_new_object();
                if (data) {
                        json_object_object_foreach(data, key, value)
                                json_object_object_add(f, key, json_object_get(value));
                }
                if (streq(event, "SHUTDOWN") && session_state(run->session) == SESSION_RUNNING)
                        session_enter(run->session, SESSION_STOPPING, NULL, map[i].event, f);
                else
                        session_event(run->session, map[i].event, f);
                return;
        }
}

/* QEMU is gone before it was ready: explain with the last line it printed. */
static int explain_early_exit(struct run *run, struct vl_error *err)
{
        int status = 0;
        waitpid(run->proc.pid, &status, 0);
        run->proc.pid = 0;
        qemu_output_drain(&run->output, run->proc.out_fd, QEMU_STDOUT);
        qemu_output_drain(&run->output, run->proc.err_fd, QEMU_STDERR);
        char how[96], tail[QEMU_OUTPUT_TAIL_LINES * QEMU_OUTPUT_LINE_MAX];
        supervise_describe_status(status, how, sizeof(how));
        qemu_output_tail(&run->output, tail, sizeof(tail));
        const char *last = strrchr(tail, '\n');
        last = last ? last + 1 : tail;
        return vl_error_set(err, 0, "QEMU %s before it was ready%s%s", how, *last ? ": " : "",
                            last);
}

/* QEMU greets only once the machine is built, which includes preallocating
 * all guest RAM: wait for that while still answering Ctrl-C/SIGTERM. */
static int wait_for_greeting(struct run *run, struct vl_error *err)
{
        long long deadline = vl_monotonic_ms() + QMP_HANDSHAKE_TIMEOUT_MS;
        for (;;) {
                struct pollfd fds[3 + SUPERVISE_WATCHER_FDS] = {
                        {.fd = qmp_fd(run->qmp), .events = POLLIN},
                        {.fd = run->signal_fd, .events = POLLIN},
                        {.fd = run->proc.pidfd, .events = POLLIN}};
                size_t n_fds = 3 + session_pollfds(run->session, fds + 3, SUPERVISE_WATCHER_FDS);
                long long left = deadline - vl_monotonic_ms();
                int n = poll(fds, n_fds, left > 0 ? (int)left : 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return vl_error_set(err, errno, "poll");
                if (n == 0 || fds[0].revents || fds[2].revents)
                        return 0; /* the handshake reports a timeout or a QEMU that is gone */
                if (fds[1].revents) {
                        if (vl_stop_signal_pending())
                                return vl_error_set(err, ECANCELED,
                                                    "asked to stop before the guest ran");
                        supervise_drop_sigchld(); /* e.g. from the version probe */
                }
                session_serve(run->session); /* listeners that came meanwhile */
        }
}

/* isolate_cpus: QEMU goes to machine.slice before it sets its affinity and execs. */
static int place_qemu(void *userdata, pid_t child, struct vl_error *err)
{
        const struct run *run = userdata;
        int r = hostprep_qemu_scope(run->def->name, (int)child, QEMU_SCOPE_TIMEOUT_MS, err);
        if (r == 0)
                runlog(LOG_INFO,
                       "QEMU runs in vmlaunch-%s.scope under machine.slice, outside the host's isolated slices",
                       run->def->name);
        return r;
}

/* What QEMU inherits, at the numbers its command line names (qemu/qemu_argv.h):
 * the two listening QMP sockets, swtpm's control channel, then a tap (and
 * vhost-net) per bridge network. */
struct qemu_fds {
        int fds[SPAWN_PASS_FDS_MAX];
        size_t count;
        struct bridge_tap taps[(SPAWN_PASS_FDS_MAX - 4) / 2];
        size_t n_taps;
};

static void qemu_fds_close(struct qemu_fds *q)
{
        static const int ours[] = {QEMU_ARGV_FD_QMP, QEMU_ARGV_FD_CTL, QEMU_ARGV_FD_AGENT};
        for (size_t i = 0; i < ELEMENTSOF(ours); i++)
                if ((size_t)(ours[i] - 3) < q->count && q->fds[ours[i] - 3] >= 0)
                        close(q->fds[ours[i] - 3]);
        for (size_t i = 0; i < q->n_taps; i++)
                bridge_tap_close(&q->taps[i]);
}

static int qemu_fds_open(const struct run *run, struct qemu_fds *q, struct vl_error *err)
{
        *q = (struct qemu_fds){.count = 4, .fds = {-1, -1, run->tpm_fd, -1}};
        _cleanup_free_ char *qmp = runstate_path(run->run_dir, RUNSTATE_QMP_SOCKET);
        _cleanup_free_ char *ctl = runstate_path(run->run_dir, RUNSTATE_CTL_SOCKET);
        _cleanup_free_ char *agent = runstate_path(run->run_dir, RUNSTATE_AGENT_SOCKET);
        if (!qmp || !ctl || !agent)
                return vl_error_set(err, ENOMEM, "start QEMU");
        int r = q->fds[QEMU_ARGV_FD_QMP - 3] = monitor_socket_listen(qmp, err);
        if (r >= 0)
                r = q->fds[QEMU_ARGV_FD_CTL - 3] = monitor_socket_listen(ctl, err);
        if (r >= 0 && run->def->guest_agent)
                r = q->fds[QEMU_ARGV_FD_AGENT - 3] = monitor_socket_listen(agent, err);
        bool vhost = qemu_argv_uses_vhost_net(run->facts.accel);
        for (size_t i = 0; r >= 0 && i < run->def->n_nets; i++) {
                const struct vmdef_net *net = &run->def->nets[i];
                if (net->mode != VMDEF_NET_BRIDGE)
                        continue;
                if (q->n_taps == ELEMENTSOF(q->taps))
                        return vl_error_set(err, E2BIG, "more than %zu bridge networks",
                                            ELEMENTSOF(q->taps));
                struct bridge_tap *tap = &q->taps[q->n_taps];
                r = bridge_tap_open(net->bridge, vhost, tap, err);
                if (r < 0)
                        return vl_error_prefix(err, "[net.%s]", net->id);
                q->fds[QEMU_ARGV_FD_TAP(q->n_taps) - 3] = tap->tap_fd;
                q->fds[QEMU_ARGV_FD_VHOST(q->n_taps) - 3] = tap->vhost_fd;
                q->count = (size_t)QEMU_ARGV_FD_VHOST(q->n_taps) - 2;
                q->n_taps++;
                runlog(LOG_INFO, "[net.%s]: tap %s on bridge %s%s", net->id, tap->ifname,
                       net->bridge, vhost ? ", vhost-net" : "");
        }
        return r < 0 ? r : 0;
}

/* QEMU as its own user, with its small environment and the descriptors it needs. */
static int spawn_with_fds(struct run *run, char *const *argv, struct vl_error *err)
{
        struct vl_strv env = {0};
        if (qemu_env_build(run->def, run->qemu_user.name, environ, &env) < 0)
                return vl_error_set(err, ENOMEM, "start QEMU");
        struct qemu_fds fds;
        int r = qemu_fds_open(run, &fds, err);
        if (r >= 0) {
                struct spawn_request req = {.argv = argv,
                                            .affinity = &run->def->emulator_pin,
                                            .memlock_bytes = spawn_memlock_bytes(run->def),
                                            .before_exec =
                                                    run->def->isolate_cpus ? place_qemu : NULL,
                                            .before_exec_userdata = run,
                                            .user = &run->qemu_user,
                                            .envp = env.items,
                                            .pass_fds = fds.fds,
                                            .n_pass_fds = fds.count};
                r = spawn_qemu(&req, &run->proc, err);
        }
        /* QEMU holds its copies; vmlaunch connects by path like any client. swtpm's
         * channel is QEMU's alone: swtpm ends when QEMU's copy closes. */
        qemu_fds_close(&fds);
        if (run->tpm_fd >= 0)
                close(run->tpm_fd);
        run->tpm_fd = -1;
        vl_strv_free(&env);
        return r;
}

/* [tpm]: swtpm answers on its control channel before QEMU is started with it. */
static int start_swtpm(struct run *run, struct vl_error *err)
{
        if (!run->def->tpm_enabled)
                return 0;
        int r = swtpm_start(run->def, &run->qemu_user, run->signal_fd, &run->swtpm, &run->tpm_fd,
                            err);
        if (r < 0)
                return r;
        runlog(LOG_INFO, "started swtpm (pid %d, user %s, seccomp), TPM 2.0 state in %s/state",
               (int)run->swtpm.pid, run->qemu_user.name, run->def->tpm_state_dir);
        return 0;
}

/* After QEMU, on every path: swtpm normally ended with QEMU's channel already. */
static void end_swtpm(struct run *run)
{
        if (run->tpm_fd >= 0)
                close(run->tpm_fd);
        run->tpm_fd = -1;
        if (!run->swtpm.pid && run->swtpm.pidfd < 0)
                return;
        int status = 0;
        char last[512];
        swtpm_end(&run->swtpm, &status, last, sizeof(last));
        char how[96];
        supervise_describe_status(status, how, sizeof(how));
        runlog(LOG_INFO, "swtpm %s%s%s", how, *last ? "; its last words: " : "", last);
}

static int start_qemu_paused(struct run *run, struct vl_error *err)
{
        struct qemu_argv_opts aopts = {
                .qemu_version = run->qemu_version,
                .accel = run->facts.accel,
                .gpu_group = run->facts.gpu_group,
                .n_gpu_group = run->facts.n_gpu_group,
                .bind_numa_node = run->facts.numa_node >= 0,
                .firmware_secure = run->facts.firmware.secure,
                .numa_node = run->facts.numa_node >= 0 ? (unsigned)run->facts.numa_node : 0,
                .smbios_host = run->facts.has_smbios_host
                                       ? (const char *const *)run->facts.smbios_host
                                       : NULL,
                .gpu_bar64_bytes = run->facts.gpu_bar64_bytes};
        struct vl_strv argv = {0};
        int r = start_swtpm(run, err);
        if (r < 0)
                return r;
        r = qemu_argv_build(run->def, &aopts, &argv, err);
        if (r < 0) {
                vl_strv_free(&argv);
                return vl_error_prefix(err, "build the QEMU command line");
        }
        r = spawn_with_fds(run, argv.items, err);
        vl_strv_free(&argv);
        if (r < 0)
                return r;
        uint64_t memlock_bytes = spawn_memlock_bytes(run->def);
        runlog(LOG_INFO, "started QEMU %u.%u.%u (pid %d, %s, user %s%s), paused",
               run->qemu_version / 10000, run->qemu_version / 100 % 100, run->qemu_version % 100,
               (int)run->proc.pid, run->facts.accel == VMDEF_ACCEL_TCG ? "TCG" : "KVM",
               run->qemu_user.name, run->def->qemu_sandbox ? ", seccomp sandbox" : "");
        if (memlock_bytes)
                runlog(LOG_INFO, "RLIMIT_MEMLOCK of QEMU: %llu MiB (guest RAM + 1 GiB for VFIO)",
                       (unsigned long long)(memlock_bytes >> 20));
        uint64_t qemu_start = 0; /* unknown: then `restore` will not end it for us */
        if (leftover_qemu_start_time(run->proc.pid, &qemu_start) < 0)
                qemu_start = 0;
        session_set_qemu(run->session, run->proc.pid, qemu_start);
        session_set_guest(run->session, "paused");
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "qemu_pid", json_object_new_int64(run->proc.pid));
        session_enter(run->session, SESSION_STARTING, NULL, "qemu-started", f);

        _cleanup_free_ char *sock = runstate_path(run->run_dir, RUNSTATE_QMP_SOCKET);
        if (!sock)
                return -ENOMEM;
        r = qmp_connect(sock, run->proc.pidfd, QMP_CONNECT_TIMEOUT_MS, &run->qmp, err);
        if (r == -ESRCH)
                return explain_early_exit(run, err);
        if (r >= 0)
                r = wait_for_greeting(run, err);
        if (r == -ECANCELED)
                return r;
        if (r >= 0)
                r = qmp_handshake(run->qmp, QMP_HANDSHAKE_TIMEOUT_MS, err);
        run->qmp_ready = r >= 0;
        if (r < 0) {
                /* A QEMU that rejects its command line closes the monitor as it
                 * exits: give it a moment to be gone, then quote its error. */
                struct pollfd pfd = {.fd = run->proc.pidfd, .events = POLLIN};
                if (poll(&pfd, 1, QEMU_EXIT_WAIT_MS) == 1)
                        return explain_early_exit(run, err);
                return vl_error_prefix(err, "QEMU's monitor %s", sock);
        }
        /* The version checked before spawning may come from the cache: QEMU's own
         * word in the greeting decides, before the guest runs. */
        unsigned greeted = qmp_qemu_version(run->qmp);
        if (greeted && greeted != run->qemu_version) {
                runlog(LOG_WARNING, "QEMU's greeting says version %u.%u.%u, not %u.%u.%u",
                       greeted / 10000, greeted / 100 % 100, greeted % 100,
                       run->qemu_version / 10000, run->qemu_version / 100 % 100,
                       run->qemu_version % 100);
                run->qemu_version = greeted;
                r = qemu_compat_check(run->def, greeted, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* vCPUs and iothreads on their CPUs (the emulator got its CPUs at spawn), each
 * read back and logged, while the guest is still paused. */
static int pin_threads(struct run *run, struct vl_error *err)
{
        cpu_set_t all_cpus;
        if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) < 0)
                return vl_error_set(err, errno, "read vmlaunch's own affinity");
        struct pin_report report = {0};
        int r = pin_qemu_threads(run->qmp, run->def, run->proc.pid, &all_cpus, &report, err);
        if (r < 0)
                return vl_error_prefix(err, "pin QEMU's threads");
        char line[512];
        for (size_t i = 0; i < report.count; i++) {
                pin_describe(&report.threads[i], line, sizeof(line));
                runlog(LOG_INFO, "%s", line);
        }
        pin_report_free(&report);
        return 0;
}

static int let_guest_run(struct run *run, struct vl_error *err)
{
        if (vl_stop_signal_pending())
                return vl_error_set(err, ECANCELED, "asked to stop before the guest ran");
        int r = qmp_execute(run->qmp, "cont", NULL, QMP_COMMAND_TIMEOUT_MS, NULL, err);
        if (r < 0)
                return vl_error_prefix(err, "let the guest run (cont)");
        return 0;
}

/* QEMU did not get to run the guest (or was asked to stop first): end it. */
static int end_qemu_before_running(struct run *run, const struct vl_error *err)
{
        bool stopped = err->errnum == ECANCELED;
        if (stopped)
                runlog(LOG_NOTICE, "stopped on request before the guest ran");
        else
                runlog(LOG_ERR, "QEMU failed to start: %s", err->msg);
        snprintf(run->end_detail, sizeof(run->end_detail), "%s", err->msg);
        /* Before the handshake QEMU refuses `quit`; SIGTERM does the same. */
        supervise_end_qemu(run->qmp_ready ? run->qmp : NULL, &run->proc, &run->output, NULL);
        return stopped ? VL_EXIT_STOPPED : VL_EXIT_QEMU_START;
}

static int exit_code_for(enum supervise_end end)
{
        switch (end) {
        case SUPERVISE_GUEST_POWEROFF:
                return VL_EXIT_OK;
        case SUPERVISE_STOPPED:
                return VL_EXIT_STOPPED;
        case SUPERVISE_COMPANION_DIED:
                return VL_EXIT_TPM_DIED;
        case SUPERVISE_WATCHER_ENDED:
                return VL_EXIT_GPU_LOST;
        default:
                return VL_EXIT_QEMU_CRASHED;
        }
}

static size_t session_watch_fds(void *userdata, struct pollfd *fds, size_t max)
{
        return session_pollfds(userdata, fds, max);
}

static void session_serve_extra(void *userdata)
{
        session_serve(userdata);
}

static void session_watch_dispatch(void *userdata, const struct pollfd *fds, size_t n,
                                   long long now_ms)
{
        (void)now_ms;
        for (size_t i = 0; i < n; i++)
                if (fds[i].revents) {
                        session_serve(userdata);
                        return;
                }
}

/* ---- the guest agent: its state as events, requests from `vmlaunch guest` ---- */

/* Requests the run answers itself go to "client" 0. */
#define INTERNAL_CLIENT 0UL

static void agent_up(void *userdata)
{
        struct run *run = userdata;
        runlog(LOG_NOTICE, "the guest agent answers");
        session_set_agent(run->session, true);
        readiness_agent_up(&run->ready, vl_monotonic_ms());
}

static void agent_down(void *userdata)
{
        struct run *run = userdata;
        runlog(LOG_NOTICE, "the guest agent is gone");
        session_set_agent(run->session, false);
}

static void agent_reply(void *userdata, unsigned long client, const char *line)
{
        struct run *run = userdata;
        if (client == INTERNAL_CLIENT)
                readiness_interfaces(&run->ready, line, vl_monotonic_ms());
        else
                session_reply(run->session, client, line);
}

static void ask_interfaces(void *userdata)
{
        struct run *run = userdata;
        struct json_object *cmd = json_object_new_object();
        json_object_object_add(cmd, "execute",
                               json_object_new_string("guest-network-get-interfaces"));
        guest_agent_request(run->agent, INTERNAL_CLIENT, cmd, 0, vl_monotonic_ms());
        json_object_put(cmd);
}

/* {"request": "guest", "command": {...}, "timeout_ms": N} from `vmlaunch guest`. */
static void on_request(void *userdata, unsigned long client, struct json_object *request)
{
        struct run *run = userdata;
        struct json_object *what, *command = NULL, *timeout = NULL;
        json_object_object_get_ex(request, "request", &what);
        if (!streq(json_object_get_string(what), "guest")) {
                session_reply(run->session, client,
                              "{\"error\":\"unknown request; expected events or guest\"}");
                return;
        }
        if (!run->agent) {
                session_reply(
                        run->session, client,
                        run->def->guest_agent
                                ? "{\"error\":\"the guest agent is not up\"}"
                                : "{\"error\":\"the VM has no guest agent port; set [guest] agent = yes\"}");
                return;
        }
        json_object_object_get_ex(request, "command", &command);
        json_object_object_get_ex(request, "timeout_ms", &timeout);
        guest_agent_request(run->agent, client, command, timeout ? json_object_get_int(timeout) : 0,
                            vl_monotonic_ms());
}

static int open_agent(struct run *run, struct vl_error *err)
{
        if (!run->def->guest_agent)
                return 0;
        _cleanup_free_ char *path = runstate_path(run->run_dir, RUNSTATE_AGENT_SOCKET);
        struct guest_agent_ops ops = {
                .userdata = run, .up = agent_up, .down = agent_down, .reply = agent_reply};
        if (!path)
                return vl_error_set(err, ENOMEM, "guest agent");
        return guest_agent_open(path, &ops, &run->agent, err);
}

static size_t agent_watch_fds(void *userdata, struct pollfd *fds, size_t max)
{
        return guest_agent_pollfds(userdata, fds, max);
}

static void agent_watch_dispatch(void *userdata, const struct pollfd *fds, size_t n,
                                 long long now_ms)
{
        guest_agent_dispatch(userdata, fds, n, now_ms);
}

static long long agent_watch_deadline(void *userdata)
{
        return guest_agent_deadline_ms(userdata);
}

static bool agent_shutdown(void *userdata)
{
        struct run *run = userdata;
        return guest_agent_shutdown(run->agent, vl_monotonic_ms());
}

/* ---- the GPU leaving mid-run ---- */

/* The addresses of the GPU's group as found on the host. Returns 0 or -ENOMEM. */
static int gpu_group_strv(const struct run *run, struct vl_strv *out)
{
        for (size_t i = 0; i < run->facts.n_gpu_group; i++) {
                char a[16];
                vmdef_pci_addr_format(&run->facts.gpu_group[i], a);
                if (vl_strv_push(out, a) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* The GPU went while the guest ran: say so once, tell the listeners, and record the
 * card as lost before anything else, so that every restore (this one, or `vmlaunch
 * restore` after a crash) leaves it on vfio-pci and reports the rest. */
static void gpu_vanished(void *userdata, const char *addr, const char *how)
{
        struct run *run = userdata;
        char gpu[16];
        vmdef_pci_addr_format(&run->def->gpu_address, gpu);
        char who[64];
        if (streq(addr, gpu))
                snprintf(who, sizeof(who), "the GPU %s", addr);
        else
                snprintf(who, sizeof(who), "%s (in the group of the GPU %s)", addr, gpu);
        runlog(LOG_ERR,
               "%s disappeared while the guest ran (%s): ending the guest; the host is restored without that card, which needs a host reboot",
               who, how);
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "device", json_object_new_string(addr));
        json_object_object_add(f, "how", json_object_new_string(how));
        session_event(run->session, "gpu-lost", f);

        char reason[200];
        snprintf(reason, sizeof(reason), "disappeared while the guest ran: %s", how);
        struct vl_strv group = {0};
        struct vl_error err = {0};
        if (gpu_group_strv(run, &group) < 0 ||
            hostprep_gpu_lost_add_card(run->run_dir, addr, reason, (const char *const *)group.items,
                                       group.count, &err) < 0)
                runlog(LOG_ERR, "record the lost GPU in %s/%s: %s", run->run_dir, GPU_LOST_FILE,
                       err.msg[0] ? err.msg : strerror(ENOMEM));
        vl_strv_free(&group);
}

static struct gpu_watch *watch_gpu(struct run *run)
{
        if (!run->def->has_gpu || !run->facts.n_gpu_group)
                return NULL;
        struct vl_strv group = {0};
        struct gpu_watch *w = NULL;
        struct vl_error err = {0};
        if (gpu_group_strv(run, &group) < 0)
                vl_error_set(&err, ENOMEM, "out of memory");
        else
                gpu_watch_open((const char *const *)group.items, group.count, gpu_vanished, run, &w,
                               &err);
        if (!w)
                runlog(LOG_WARNING,
                       "cannot watch the GPU while the guest runs (%s): a GPU that disappears is noticed only once QEMU ends",
                       err.msg);
        vl_strv_free(&group);
        return w;
}

/* The guest runs: tell everyone, then watch QEMU until it is gone. */
static int supervise(struct run *run)
{
        struct vl_error err = {0};
        if (hostprep_run_hooks(run->def, "started/begin", &err) < 0)
                runlog(LOG_WARNING, "started hook: %s", err.msg);
        session_set_started(run->session);
        session_set_guest(run->session, "running");
        session_enter(run->session, SESSION_RUNNING, NULL, "running", NULL);
        runlog(LOG_NOTICE, "guest %s is running", run->def->name);
        readiness_start(&run->ready, vl_monotonic_ms());

        struct supervise_params sp = {.qmp = run->qmp,
                                      .proc = &run->proc,
                                      .output = &run->output,
                                      .signal_fd = run->signal_fd,
                                      .shutdown_timeout_s = run->def->shutdown_timeout_s,
                                      .companion_pidfd = run->swtpm.pid ? run->swtpm.pidfd : -1,
                                      .companion_name = "swtpm (the VM's TPM)",
                                      .on_stopping = on_stopping,
                                      .on_qmp_event = on_qmp_event,
                                      .gentle_shutdown = run->agent ? agent_shutdown : NULL,
                                      .userdata = run,
                                      .watchers = {{.userdata = run->session,
                                                    .pollfds = session_watch_fds,
                                                    .dispatch = session_watch_dispatch},
                                                   {.userdata = &run->ready,
                                                    .pollfds = readiness_pollfds,
                                                    .dispatch = readiness_dispatch,
                                                    .deadline_ms = readiness_deadline_ms}},
                                      .n_watchers = 2};
        if (run->agent)
                sp.watchers[sp.n_watchers++] =
                        (struct supervise_watcher){.userdata = run->agent,
                                                   .pollfds = agent_watch_fds,
                                                   .dispatch = agent_watch_dispatch,
                                                   .deadline_ms = agent_watch_deadline};
        struct gpu_watch *gpu = watch_gpu(run);
        if (gpu)
                sp.watchers[sp.n_watchers++] =
                        (struct supervise_watcher){.userdata = gpu,
                                                   .pollfds = gpu_watch_pollfds,
                                                   .dispatch = gpu_watch_dispatch,
                                                   .stop_reason = gpu_watch_stop_reason};
        struct supervise_result res = {0};
        int r = supervise_run(&sp, &res, &err);
        gpu_watch_close(gpu);
        if (r < 0) {
                runlog(LOG_ERR, "supervising QEMU: %s", err.msg);
                supervise_end_qemu(run->qmp, &run->proc, &run->output, NULL);
                return VL_EXIT_FAILURE;
        }
        runlog(res.end == SUPERVISE_CRASHED ? LOG_ERR : LOG_NOTICE, "%s", res.detail);
        snprintf(run->end_detail, sizeof(run->end_detail), "%s", res.detail);
        readiness_close(&run->ready);
        if (res.end == SUPERVISE_STOPPED && run->ready.timed_out)
                return VL_EXIT_NOT_READY;
        return exit_code_for(res.end);
}

/* QEMU's binary, version and seccomp support, and its user (looked up here). */
static int check_confinement(struct run *run, struct vl_error *err)
{
        _cleanup_free_ char *version_cache = qemu_version_cache_path(run->run_dir);
        struct vmdef_diags diags = {0};
        struct qemu_binary_info qemu = {0};
        if (!version_cache ||
            confinement_check(run->def, version_cache, &qemu, &run->qemu_user, &diags) < 0) {
                vmdef_diags_free(&diags);
                return vl_error_set(err, ENOMEM, "check QEMU");
        }
        log_diags(&diags, run->def->path);
        int r = diags.n_errors ? vl_error_set(err, 0, "%s: this host cannot run it (%zu problem%s)",
                                              run->def->name, diags.n_errors,
                                              diags.n_errors == 1 ? "" : "s")
                               : 0;
        vmdef_diags_free(&diags);
        run->qemu_version = qemu.version;
        return r;
}

/* Hooks and the vars folder that root cannot trust refuse the definition (exit 3),
 * like a definition file others can write. */
static int check_trust(struct run *run)
{
        struct vmdef_diags diags = {0};
        int n = trust_check(run->def, &diags);
        log_diags(&diags, run->def->path);
        vmdef_diags_free(&diags);
        if (n < 0)
                return VL_EXIT_FAILURE;
        if (n > 0) {
                runlog(LOG_ERR, "%s: refused: root cannot trust what it would run or open for it",
                       run->def->name);
                return VL_EXIT_DEFINITION;
        }
        return VL_EXIT_OK;
}

/* Before anything changes: no journal left over, hooks and folders root can trust, a
 * QEMU that runs everything the definition asks for, a host that can run it, the VM's
 * own UEFI variables. */
static int check_before_changes(struct run *run)
{
        struct vl_error err = {0};
        if (hostprep_gpu_lost_blocks(run->run_dir, run->def, true, &err) > 0) {
                runlog(LOG_ERR, "%s", err.msg);
                return VL_EXIT_GPU_LOST;
        }
        /* A journal left by a killed vmlaunch means the host is still prepared: every
         * check below would see that state, not the host's own. */
        if (hostprep_journal_exists(run->run_dir)) {
                runlog(LOG_ERR,
                       "%s: an earlier run left the host prepared (journal in %s); run `vmlaunch restore %s` first",
                       run->def->name, run->run_dir, run->def->name);
                return VL_EXIT_BUSY;
        }
        int ex = check_trust(run);
        if (ex != VL_EXIT_OK)
                return ex;
        if (check_confinement(run, &err) < 0 ||
            qemu_compat_check(run->def, run->qemu_version, &err) < 0 || check_host(run, &err) < 0 ||
            (run->facts.accel == VMDEF_ACCEL_KVM &&
             kvm_probe_hyperv("/dev/kvm", &run->def->hyperv, &err) < 0)) {
                runlog(LOG_ERR, "%s", err.msg);
                return err.errnum == ENOMEM ? VL_EXIT_FAILURE : VL_EXIT_HOST_CHECK;
        }
        bool vars_created = false;
        if (ovmf_vars_ensure(run->def, &vars_created, &err) < 0) {
                runlog(LOG_ERR, "%s", err.msg);
                return VL_EXIT_HOST_CHECK;
        }
        if (vars_created)
                runlog(LOG_INFO, "created the VM's UEFI variables %s from %s", run->def->ovmf_vars,
                       run->def->ovmf_vars_template);
        bool tpm_created = false;
        if (swtpm_state_ensure(run->def, &run->qemu_user, run->signal_fd, &tpm_created, &err) < 0) {
                runlog(LOG_ERR, "%s", err.msg);
                return err.errnum == ECANCELED ? VL_EXIT_STOPPED : VL_EXIT_HOST_CHECK;
        }
        if (tpm_created)
                runlog(LOG_INFO, "created the VM's TPM 2.0 in %s/state (swtpm_setup as %s)",
                       run->def->tpm_state_dir, run->qemu_user.name);
        return VL_EXIT_OK;
}

/* Every change journaled before it is made; a failure is rolled back before this
 * returns, and what could not be undone keeps its journal for `vmlaunch restore`. */
static int prepare_host(struct run *run)
{
        struct vl_error err = {0};
        size_t left = 0;
        int r = host_prepare(run, &left, &err);
        if (r == 0)
                return VL_EXIT_OK;
        snprintf(run->end_detail, sizeof(run->end_detail), "prepare the host: %s", err.msg);
        if (r == -EBUSY) {
                runlog(LOG_ERR, "%s", err.msg);
                return VL_EXIT_BUSY;
        }
        if (left) {
                runlog(LOG_ERR,
                       "prepare the host: %s; %zu change(s) could not be undone (above): the journal is kept in %s: fix the cause, then run `vmlaunch restore %s`",
                       err.msg, left, run->run_dir, run->def->name);
                return VL_EXIT_RESTORE;
        }
        if (r == -ECANCELED) {
                runlog(LOG_NOTICE,
                       "stopped on request while preparing the host (%s); what was done has been undone",
                       err.msg);
                return VL_EXIT_STOPPED;
        }
        runlog(LOG_ERR, "prepare the host: %s; what was done has been undone", err.msg);
        return VL_EXIT_PREPARE;
}

static int restore_host(struct run *run)
{
        struct vl_error err = {0};
        vl_notify("STATUS=Restoring the host");
        session_enter(run->session, SESSION_RESTORING, NULL, "restoring", NULL);
        int r = host_restore(run, &err);
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "ok", json_object_new_boolean(r >= 0));
        session_event(run->session, "restored", f);
        if (r < 0)
                runlog(LOG_ERR, "restore the host: %s", err.msg);
        struct vl_error lost = {0};
        if (hostprep_gpu_lost_blocks(run->run_dir, run->def, false, &lost) > 0) {
                runlog(LOG_ERR, "%s", lost.msg);
                return VL_EXIT_GPU_LOST;
        }
        return r < 0 ? VL_EXIT_RESTORE : VL_EXIT_OK;
}

/* The whole run once the run dir is locked, in order. Returns an exit code. */
static int run_lifecycle(struct run *run)
{
        struct vl_error err = {0};
        /* no suspend from the first host change until the restore is done */
        _cleanup_(inhibit_sleep_release) int inhibit_fd = -1;
        int ex = check_before_changes(run);
        if (ex == VL_EXIT_OK && run->def->has_gpu)
                inhibit_fd = inhibit_sleep_take(run->def->name);
        if (ex == VL_EXIT_OK)
                ex = prepare_host(run);
        if (ex != VL_EXIT_OK)
                return ex; /* nothing to restore: unchanged, or rolled back already */

        vl_notify("STATUS=Starting QEMU");
        if (start_qemu_paused(run, &err) < 0 || open_agent(run, &err) < 0 ||
            vnc_set_password(run->qmp, run->def, QMP_COMMAND_TIMEOUT_MS, &err) < 0 ||
            pin_threads(run, &err) < 0 || let_guest_run(run, &err) < 0)
                ex = end_qemu_before_running(run, &err);
        else
                ex = supervise(run);
        qmp_close(run->qmp);
        run->qmp = NULL;
        guest_agent_close(run->agent);
        run->agent = NULL;
        end_swtpm(run);

        int restored = restore_host(run);
        return restored != VL_EXIT_OK ? restored : ex;
}

int run_vm(struct vm_def *def)
{
        struct vl_error err = {0};
        struct run run = {.def = def,
                          .lock_fd = -1,
                          .signal_fd = -1,
                          .proc = QEMU_PROC_NONE,
                          .swtpm = QEMU_PROC_NONE,
                          .tpm_fd = -1};
        int ex = VL_EXIT_FAILURE;

        /* Writes to a QEMU that just died must be errors, not a fatal SIGPIPE. */
        signal(SIGPIPE, SIG_IGN);
        run.signal_fd = supervise_signals_open(&err);
        if (run.signal_fd < 0)
                goto fail;
        if (runstate_dir(def->name, &run.run_dir, &err) < 0 ||
            runstate_dir_create(run.run_dir, &err) < 0)
                goto fail;
        run.lock_fd = runstate_lock(run.run_dir, def->name, &err);
        if (run.lock_fd < 0) {
                if (run.lock_fd == -EBUSY)
                        ex = VL_EXIT_BUSY;
                goto fail;
        }
        struct runstate st = {.pid = getpid(), .shutdown_timeout_s = def->shutdown_timeout_s};
        if (def->guest_agent)
                snprintf(st.agent, sizeof(st.agent), "down");
        if (session_open(run.run_dir, def->name, &st, &run.session, &err) < 0)
                goto fail_locked;
        session_set_request_handler(run.session, on_request, &run);
        run.ready = (struct readiness){.def = def,
                                       .session = run.session,
                                       .timeout_at_ms = -1,
                                       .ask_address_at_ms = -1,
                                       .probe = {.fd = -1},
                                       .ask_interfaces = ask_interfaces,
                                       .userdata = &run};
        /* Listeners that come while a host step waits are answered at once. */
        const struct vl_poll_extra serve_events = {
                .fds = session_watch_fds, .serve = session_serve_extra, .userdata = run.session};
        vl_poll_extra_set(&serve_events);

        ex = run_lifecycle(&run);
        vl_poll_extra_set(NULL);
        session_close(run.session, ex, vl_exit_describe(ex), run.end_detail,
                      hostprep_journal_exists(run.run_dir));
        qemu_proc_close(&run.proc);
        host_facts_free(&run.facts);
        vl_account_free(&run.qemu_user);
        runstate_cleanup(run.run_dir, run.lock_fd);
        free(run.run_dir);
        close(run.signal_fd);
        return ex;

fail_locked:
        runstate_cleanup(run.run_dir, run.lock_fd);
fail:
        runlog(LOG_ERR, "%s", err.msg);
        if (run.signal_fd >= 0)
                close(run.signal_fd);
        free(run.run_dir);
        return ex;
}
