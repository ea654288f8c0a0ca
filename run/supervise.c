#include "run/supervise.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run/runlog.h"
#include "qmp/qmp.h"
#include "util/clock.h"
#include "util/macro.h"
#include "util/pidfd.h"
#include "util/stop_signal.h"

#define NO_DEADLINE (-1LL)
/* How long a QEMU that closed swtpm's connection may take to be gone (exit_files()
 * runs before the exit is signalled on its pidfd). */
#define COMPANION_GRACE_MS 2000

enum phase { PHASE_RUNNING, PHASE_POWERING_DOWN, PHASE_QUITTING, PHASE_KILLED };

struct supervisor {
        const struct supervise_params *p;
        enum phase phase;
        bool stop_requested;
        long long next_powerdown_ms, quit_at_ms, kill_at_ms;
        bool qmp_open;
        bool shutdown_seen, shutdown_by_guest;
        char shutdown_reason[64];
        bool panicked;
        bool companion_died;
        char watcher_why[32]; /* a watcher ended the guest: its reason */
        bool exited;
        int wait_status;
};

static int signal_qemu(const struct qemu_proc *proc, int sig)
{
        /* Through the pidfd: never signals a recycled pid. */
        return vl_pidfd_send_signal(proc->pidfd, sig);
}

int supervise_signals_open(struct vl_error *err)
{
        sigset_t set;
        sigemptyset(&set);
        vl_stop_signals_add(&set);
        sigaddset(&set, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return vl_error_set(err, errno, "block signals");
        int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                return vl_error_set(err, errno, "create a signalfd");
        return fd;
}

void supervise_drop_sigchld(void)
{
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        const struct timespec now = {0, 0};
        while (sigtimedwait(&chld, NULL, &now) == SIGCHLD)
                ;
}

void supervise_describe_status(int st, char *buf, size_t len)
{
        if (WIFEXITED(st))
                snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
                snprintf(buf, len, "was killed by SIG%s%s", sigabbrev_np(WTERMSIG(st)) ?: "?",
                         WCOREDUMP(st) ? " (core dumped)" : "");
        else
                snprintf(buf, len, "ended with wait status 0x%x", (unsigned)st);
}

static const char *json_str(struct json_object *o, const char *key)
{
        struct json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return json_object_get_string(v);
}

static void log_event(struct supervisor *s, const char *event, struct json_object *data)
{
        if (streq(event, "SHUTDOWN")) {
                struct json_object *guest;
                const char *reason = json_str(data, "reason");
                s->shutdown_seen = true;
                s->shutdown_by_guest = data && json_object_object_get_ex(data, "guest", &guest) &&
                                       json_object_get_boolean(guest);
                snprintf(s->shutdown_reason, sizeof(s->shutdown_reason), "%s",
                         reason ? reason : "unknown");
                runlog(LOG_NOTICE, "QEMU is shutting down: %s%s", s->shutdown_reason,
                       s->shutdown_by_guest ? " (asked by the guest)" : "");
        } else if (streq(event, "RESET")) {
                const char *reason = json_str(data, "reason");
                runlog(LOG_NOTICE, "guest reset (%s)", reason ? reason : "unknown reason");
        } else if (streq(event, "STOP")) {
                runlog(LOG_NOTICE, "guest paused");
        } else if (streq(event, "RESUME")) {
                runlog(LOG_NOTICE, "guest running");
        } else if (streq(event, "POWERDOWN")) {
                runlog(LOG_INFO, "ACPI power button pressed");
        } else if (streq(event, "GUEST_PANICKED")) {
                const char *action = json_str(data, "action");
                s->panicked = true;
                runlog(LOG_ERR, "the guest panicked (QEMU's action: %s)",
                       action ? action : "unknown");
        } else if (streq(event, "RTC_CHANGE")) {
                /* Guests set their clock; nothing a user needs to see. */
        } else {
                const char *json =
                        data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN) : "";
                runlog(LOG_INFO, "QEMU event %s %s", event, json);
        }
}

static void on_event(const char *event, struct json_object *data, struct json_object *ts,
                     void *userdata)
{
        struct supervisor *s = userdata;
        (void)ts;
        log_event(s, event, data);
        if (s->p->on_qmp_event)
                s->p->on_qmp_event(s->p->userdata, event, data);
}

static void on_reply(const char *command, struct json_object *ret, const char *error,
                     void *userdata)
{
        (void)ret;
        (void)userdata;
        if (error)
                runlog(LOG_WARNING, "QEMU refused %s: %s", command, error);
}

static void send_command(struct supervisor *s, const char *command)
{
        struct vl_error err = {0};
        if (!s->qmp_open) {
                runlog(LOG_WARNING, "cannot send %s: QEMU's monitor is closed", command);
                return;
        }
        if (qmp_send(s->p->qmp, command, NULL, &err) < 0)
                runlog(LOG_WARNING, "send %s to QEMU: %s", command, err.msg);
}

static void start_quit(struct supervisor *s, long long now)
{
        send_command(s, "quit");
        s->phase = PHASE_QUITTING;
        s->next_powerdown_ms = s->quit_at_ms = NO_DEADLINE;
        s->kill_at_ms = now + SUPERVISE_KILL_GRACE_MS;
}

static void kill_qemu(struct supervisor *s)
{
        runlog(LOG_WARNING, "killing QEMU (pid %d)", (int)s->p->proc->pid);
        if (signal_qemu(s->p->proc, SIGKILL) < 0 && errno != ESRCH)
                runlog(LOG_ERR, "kill QEMU: %s", strerror(errno));
        s->phase = PHASE_KILLED;
        s->kill_at_ms = NO_DEADLINE;
}

/* The gentle path: the guest agent or the ACPI button, `quit` after the shutdown
 * timeout. why names the cause in the log and the stopping event ("SIGTERM"). */
static void begin_shutdown(struct supervisor *s, const char *why, bool ctrl_c, long long now)
{
        s->stop_requested = true;
        if (s->p->on_stopping)
                s->p->on_stopping(s->p->userdata, why);
        if (s->p->shutdown_timeout_s == 0) {
                runlog(LOG_NOTICE, "%s: quitting QEMU (shutdown timeout is 0)", why);
                start_quit(s, now);
                return;
        }
        /* said first: what is asked of the guest follows, in order */
        runlog(LOG_NOTICE, "%s: shutting the guest down (quit after %u s%s)", why,
               s->p->shutdown_timeout_s, ctrl_c ? ", Ctrl-C again to quit now" : "");
        /* The agent first: Windows ignores the power button on a locked screen.
         * The button follows a round later in case the agent does nothing. */
        bool gentle = s->p->gentle_shutdown && s->p->gentle_shutdown(s->p->userdata);
        if (!gentle)
                send_command(s, "system_powerdown");
        s->phase = PHASE_POWERING_DOWN;
        s->next_powerdown_ms = now + SUPERVISE_POWERDOWN_REPEAT_MS;
        s->quit_at_ms = now + (long long)s->p->shutdown_timeout_s * 1000;
}

static void request_stop(struct supervisor *s, int sig, long long now)
{
        const char *name = sigabbrev_np(sig);
        if (s->phase == PHASE_RUNNING) {
                char why[32];
                snprintf(why, sizeof(why), "SIG%s", name);
                begin_shutdown(s, why, sig == SIGINT, now);
                return;
        }
        if (sig != SIGINT) {
                runlog(LOG_INFO, "SIG%s: already shutting down", name);
                return;
        }
        if (s->phase == PHASE_POWERING_DOWN) {
                runlog(LOG_NOTICE, "SIGINT again: quitting QEMU now");
                start_quit(s, now);
        } else if (s->phase == PHASE_QUITTING) {
                kill_qemu(s);
        }
}

/* A watcher saw something the guest cannot run without (the GPU went): end it like
 * a stop request, which for a GPU is also what lets the kernel's removal finish. */
static void ask_watchers(struct supervisor *s, long long now)
{
        for (size_t i = 0; i < s->p->n_watchers; i++) {
                const struct supervise_watcher *w = &s->p->watchers[i];
                char why[sizeof(s->watcher_why)];
                if (!w->stop_reason || !w->stop_reason(w->userdata, why, sizeof(why)))
                        continue;
                if (!s->watcher_why[0])
                        snprintf(s->watcher_why, sizeof(s->watcher_why), "%s", why);
                if (s->phase == PHASE_RUNNING)
                        begin_shutdown(s, why, false, now);
        }
}

static void read_signals(struct supervisor *s, long long now)
{
        struct signalfd_siginfo si;
        while (read(s->p->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                /* SIGCHLD only wakes us; the pidfd says when QEMU is gone. */
                if (si.ssi_signo != SIGCHLD)
                        request_stop(s, (int)si.ssi_signo, now);
        }
}

static void run_deadlines(struct supervisor *s, long long now)
{
        if (s->kill_at_ms != NO_DEADLINE && now >= s->kill_at_ms) {
                runlog(LOG_WARNING, "QEMU did not exit %d s after quit",
                       SUPERVISE_KILL_GRACE_MS / 1000);
                kill_qemu(s);
        }
        if (s->quit_at_ms != NO_DEADLINE && now >= s->quit_at_ms) {
                runlog(LOG_WARNING, "the guest did not shut down within %u s: quitting QEMU",
                       s->p->shutdown_timeout_s);
                start_quit(s, now);
        }
        if (s->next_powerdown_ms != NO_DEADLINE && now >= s->next_powerdown_ms) {
                runlog(LOG_INFO, "pressing the ACPI power button again");
                send_command(s, "system_powerdown");
                s->next_powerdown_ms = now + SUPERVISE_POWERDOWN_REPEAT_MS;
        }
}

static int poll_timeout(const struct supervisor *s, long long now)
{
        long long next = NO_DEADLINE;
        long long deadlines[3 + SUPERVISE_WATCHERS_MAX] = {s->next_powerdown_ms, s->quit_at_ms,
                                                           s->kill_at_ms};
        size_t n = 3;
        for (size_t i = 0; i < s->p->n_watchers; i++) {
                const struct supervise_watcher *w = &s->p->watchers[i];
                deadlines[n++] = w->deadline_ms ? w->deadline_ms(w->userdata) : NO_DEADLINE;
        }
        for (size_t i = 0; i < n; i++)
                if (deadlines[i] != NO_DEADLINE && (next == NO_DEADLINE || deadlines[i] < next))
                        next = deadlines[i];
        if (next == NO_DEADLINE)
                return -1; /* nothing pending: sleep until something happens */
        return next <= now ? 0 : (int)(next - now);
}

static void reap(struct supervisor *s)
{
        int status;
        pid_t r;
        do
                r = waitpid(s->p->proc->pid, &status, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == s->p->proc->pid) {
                s->exited = true;
                s->wait_status = status;
                s->p->proc->pid = 0;
        }
}

static void read_output(struct qemu_output *o, int *fd, enum qemu_stream stream)
{
        if (qemu_output_read(o, *fd, stream) != 0) {
                close(*fd);
                *fd = -1;
        }
}

/* The guest lost a device it was using: ending the run beats a guest whose TPM
 * (BitLocker keys, measured boot) silently stopped answering. */
static void companion_died(struct supervisor *s, long long now)
{
        /* swtpm ends itself when QEMU closes its end (--terminate), which QEMU does
         * as it exits, before its pidfd says so: a QEMU that is gone within a moment
         * was the cause, not the TPM. */
        struct pollfd qemu = {.fd = s->p->proc->pidfd, .events = POLLIN};
        int n;
        do
                n = poll(&qemu, 1, COMPANION_GRACE_MS);
        while (n < 0 && errno == EINTR);
        if (n == 1) {
                reap(s);
                return;
        }
        s->companion_died = true;
        if (s->phase != PHASE_RUNNING)
                return; /* stopping anyway */
        runlog(LOG_ERR, "%s exited while the guest ran: quitting QEMU", s->p->companion_name);
        start_quit(s, now);
}

static void classify(const struct supervisor *s, struct supervise_result *res)
{
        char how[96];
        supervise_describe_status(s->wait_status, how, sizeof(how));
        res->wait_status = s->wait_status;
        bool clean_exit = WIFEXITED(s->wait_status) && WEXITSTATUS(s->wait_status) == 0;
        if (s->watcher_why[0]) {
                res->end = SUPERVISE_WATCHER_ENDED;
                snprintf(res->detail, sizeof(res->detail), "the guest was ended (%s); QEMU %s%s",
                         s->watcher_why, how,
                         s->phase == PHASE_KILLED ? " (killed after ignoring quit)" : "");
        } else if (s->companion_died && !s->stop_requested) {
                res->end = SUPERVISE_COMPANION_DIED;
                snprintf(res->detail, sizeof(res->detail), "%s exited while the guest ran; QEMU %s",
                         s->p->companion_name, how);
        } else if (s->stop_requested) {
                res->end = SUPERVISE_STOPPED;
                snprintf(res->detail, sizeof(res->detail), "stopped on request: QEMU %s%s%s", how,
                         s->shutdown_by_guest ? " after the guest shut down" : "",
                         s->phase == PHASE_KILLED ? " (killed after ignoring quit)" : "");
        } else if (s->panicked || (s->shutdown_seen && streq(s->shutdown_reason, "guest-panic"))) {
                res->end = SUPERVISE_CRASHED;
                snprintf(res->detail, sizeof(res->detail), "the guest panicked; QEMU %s", how);
        } else if (clean_exit && s->shutdown_seen && s->shutdown_by_guest) {
                res->end = SUPERVISE_GUEST_POWEROFF;
                snprintf(res->detail, sizeof(res->detail), "the guest powered off (%s)",
                         s->shutdown_reason);
        } else if (clean_exit && s->shutdown_seen &&
                   (streq(s->shutdown_reason, "host-qmp-quit") ||
                    streq(s->shutdown_reason, "host-ui"))) {
                res->end = SUPERVISE_STOPPED;
                snprintf(res->detail, sizeof(res->detail), "QEMU was told to quit (%s)",
                         s->shutdown_reason);
        } else {
                res->end = SUPERVISE_CRASHED;
                snprintf(res->detail, sizeof(res->detail), "QEMU %s%s%s%s", how,
                         s->shutdown_seen ? " after shutdown reason " : " unexpectedly",
                         s->shutdown_seen ? s->shutdown_reason : "",
                         s->shutdown_seen && streq(s->shutdown_reason, "host-signal")
                                 ? " (a signal sent to QEMU, not through vmlaunch)"
                                 : "");
        }
}

int supervise_run(const struct supervise_params *p, struct supervise_result *res,
                  struct vl_error *err)
{
        struct supervisor s = {.p = p,
                               .phase = PHASE_RUNNING,
                               .next_powerdown_ms = NO_DEADLINE,
                               .quit_at_ms = NO_DEADLINE,
                               .kill_at_ms = NO_DEADLINE,
                               .qmp_open = true};
        qmp_set_event_handler(p->qmp, on_event, &s);
        qmp_set_reply_handler(p->qmp, on_reply, &s);

        enum { FD_SIGNAL, FD_PIDFD, FD_QMP, FD_OUT, FD_ERR, FD_COMPANION, N_FDS };
        while (!s.exited) {
                struct pollfd fds[N_FDS + SUPERVISE_WATCHERS_MAX * SUPERVISE_WATCHER_FDS] = {
                        [FD_SIGNAL] = {.fd = p->signal_fd, .events = POLLIN},
                        [FD_PIDFD] = {.fd = p->proc->pidfd, .events = POLLIN},
                        [FD_QMP] = {.fd = s.qmp_open ? qmp_fd(p->qmp) : -1, .events = POLLIN},
                        [FD_OUT] = {.fd = p->proc->out_fd, .events = POLLIN},
                        [FD_ERR] = {.fd = p->proc->err_fd, .events = POLLIN},
                        /* readable for good once it exited: watched until then */
                        [FD_COMPANION] = {.fd = s.companion_died ? -1 : p->companion_pidfd,
                                          .events = POLLIN},
                };
                size_t n_fds = N_FDS, first[SUPERVISE_WATCHERS_MAX], count[SUPERVISE_WATCHERS_MAX];
                for (size_t i = 0; i < p->n_watchers; i++) {
                        first[i] = n_fds;
                        count[i] = p->watchers[i].pollfds(p->watchers[i].userdata, fds + n_fds,
                                                          SUPERVISE_WATCHER_FDS);
                        n_fds += count[i];
                }
                if (poll(fds, n_fds, poll_timeout(&s, vl_monotonic_ms())) < 0) {
                        if (errno == EINTR)
                                continue;
                        return vl_error_set(err, errno, "poll");
                }
                long long now = vl_monotonic_ms();
                if (fds[FD_SIGNAL].revents)
                        read_signals(&s, now);
                if (fds[FD_QMP].revents) {
                        struct vl_error qerr = {0};
                        if (qmp_dispatch(p->qmp, &qerr) < 0) {
                                /* QEMU closes the monitor as it exits; the pidfd
                                 * tells when it is gone. */
                                s.qmp_open = false;
                                if (qerr.errnum != EPIPE)
                                        runlog(LOG_WARNING, "QEMU's monitor: %s", qerr.msg);
                        }
                }
                if (fds[FD_OUT].revents)
                        read_output(p->output, &p->proc->out_fd, QEMU_STDOUT);
                if (fds[FD_ERR].revents)
                        read_output(p->output, &p->proc->err_fd, QEMU_STDERR);
                if (fds[FD_PIDFD].revents)
                        reap(&s);
                /* QEMU gone first: swtpm follows it (--terminate), that is no news */
                if (fds[FD_COMPANION].revents && !s.exited)
                        companion_died(&s, now);
                if (!s.exited)
                        run_deadlines(&s, now);
                for (size_t i = 0; i < p->n_watchers; i++)
                        p->watchers[i].dispatch(p->watchers[i].userdata, fds + first[i], count[i],
                                                now);
                if (!s.exited)
                        ask_watchers(&s, now);
        }
        if (s.qmp_open) {
                struct vl_error qerr = {0};
                (void)qmp_dispatch(p->qmp, &qerr); /* events sent just before exiting */
        }
        qemu_output_drain(p->output, p->proc->out_fd, QEMU_STDOUT);
        qemu_output_drain(p->output, p->proc->err_fd, QEMU_STDERR);
        classify(&s, res);
        return 0;
}

void supervise_end_qemu(struct qmp_client *qmp, struct qemu_proc *proc, struct qemu_output *output,
                        int *wait_status)
{
        int status = 0;
        if (!proc->pid)
                return;
        struct vl_error err = {0};
        if (!qmp || qmp_send(qmp, "quit", NULL, &err) < 0)
                (void)signal_qemu(proc, SIGTERM);
        long long deadline = vl_monotonic_ms() + SUPERVISE_KILL_GRACE_MS;
        bool killed = false;
        for (;;) {
                pid_t r = waitpid(proc->pid, &status, WNOHANG);
                if (r == proc->pid || (r < 0 && errno != EINTR))
                        break;
                long long left = deadline - vl_monotonic_ms();
                if (left <= 0 && !killed) {
                        (void)signal_qemu(proc, SIGKILL);
                        killed = true;
                }
                struct pollfd fds[] = {{.fd = proc->pidfd, .events = POLLIN},
                                       {.fd = proc->out_fd, .events = POLLIN},
                                       {.fd = proc->err_fd, .events = POLLIN}};
                (void)poll(fds, 3, killed ? -1 : (int)(left > 0 ? left : 0));
                if (fds[1].revents)
                        read_output(output, &proc->out_fd, QEMU_STDOUT);
                if (fds[2].revents)
                        read_output(output, &proc->err_fd, QEMU_STDERR);
        }
        proc->pid = 0;
        qemu_output_drain(output, proc->out_fd, QEMU_STDOUT);
        qemu_output_drain(output, proc->err_fd, QEMU_STDERR);
        if (wait_status)
                *wait_status = status;
}
