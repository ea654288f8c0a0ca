/* vmlaunch wait NAME --for COND [--timeout S] [--json]: block until a condition
 * holds, following the run's events (no polling of files); tcp:HOST:PORT is probed
 * with connects that back off exponentially while the guest runs. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/ctl_client.h"
#include "launcher/event_line.h"
#include "launcher/events_client.h"
#include "launcher/wait_cond.h"
#include "run/tcp_probe.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/exit_codes.h"
#include "util/macro.h"
#include "util/pidfd.h"

/* The first line (the state now) is awaited this long even past --timeout, so that
 * --timeout 0 answers whether the condition holds now. */
#define HELLO_GRACE_MS 2000

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch wait NAME --for COND [--timeout SECONDS] [--json]\n\n"
                "Wait until COND holds for the VM NAME:\n"
                "  running        the guest runs (state running)\n"
                "  stopped        no vmlaunch runs it (stopped, or needs-restore: the host is\n"
                "                 still prepared and `vmlaunch restore NAME` is due)\n"
                "  agent          the guest agent is up ([guest] agent = yes)\n"
                "  ready          the session is ready ([session] ready)\n"
                "  tcp:HOST:PORT  HOST:PORT accepts a TCP connection while the guest runs\n"
                "                 (tcp:[IPV6]:PORT); probed 100 ms, 200 ms, ... at most 5 s apart\n\n"
                "Exits 0 when it holds, 14 when --timeout SECONDS passed first, 15 when the VM\n"
                "is not running (all but stopped) or its run ended before COND held. --json\n"
                "prints {\"vm\", \"condition\", \"result\": \"held\"|\"timeout\"|\"ended\"|\"not-running\",\n"
                "\"state\", \"exit_code\", \"reason\", \"waited_s\"} (vmlaunch(1), wait).\n");
}

enum wait_result { WAITED_HELD, WAITED_TIMEOUT, WAITED_ENDED, WAITED_NOT_RUNNING };

/* follow(): dropped as a lagging listener, connect again. */
#define FOLLOW_AGAIN (-2)

static const char *const result_names[] = {
        [WAITED_HELD] = "held",
        [WAITED_TIMEOUT] = "timeout",
        [WAITED_ENDED] = "ended",
        [WAITED_NOT_RUNNING] = "not-running",
};

struct waiter {
        const char *name;
        const char *cond_text;
        struct wait_cond cond;
        int64_t start_ms;
        int64_t deadline_ms; /* < 0: none */
        struct events_stream stream;
        int64_t connected_ms;
        bool hello_seen;
        char state[32];
        bool exited; /* the "exited" event came: exit_code and reason hold */
        int exit_code;
        char reason[256];
        int vmlaunch_pidfd;     /* from the hello's pid: stopped waits until it is gone */
        struct tcp_probe probe; /* tcp: run/tcp_probe.h says how it tries */
};

/* tcp: HOST as a numeric address first, else through the resolver. */
static int resolve(struct waiter *w)
{
        struct vl_error err = {0};
        if (tcp_probe_init(&w->probe, w->cond.host, w->cond.port, &err) < 0) {
                fprintf(stderr, "vmlaunch wait: --for '%s': %s\n", w->cond_text, err.msg);
                return -1;
        }
        return 0;
}

/* One line of the stream: 1 when the condition holds, -1 for a refusal,
 * FOLLOW_AGAIN for "lagged", 0 otherwise. */
static int take_line(struct waiter *w, const char *line)
{
        struct json_object *event = json_tokener_parse(line);
        const char *name = event_name(event);
        if (!name) {
                const char *error = event_field(event, "error");
                fprintf(stderr, "vmlaunch wait: %s: %s\n", w->name, error ? error : line);
                json_object_put(event);
                return -1;
        }
        const char *state = event_field(event, "state");
        if (state)
                snprintf(w->state, sizeof(w->state), "%s", state);
        struct json_object *v;
        w->hello_seen = true;
        if (streq(name, "hello") && w->vmlaunch_pidfd < 0 &&
            json_object_object_get_ex(event, "pid", &v) && json_object_get_int(v) > 0)
                w->vmlaunch_pidfd = vl_pidfd_open((pid_t)json_object_get_int(v));
        if (streq(name, "exited")) {
                w->exited = true;
                w->exit_code = json_object_object_get_ex(event, "exit_code", &v)
                                       ? json_object_get_int(v)
                                       : -1;
                const char *reason = event_field(event, "reason");
                snprintf(w->reason, sizeof(w->reason), "%s", reason ? reason : "");
        }
        int r = streq(name, "lagged") ? FOLLOW_AGAIN : wait_cond_held_by(&w->cond, event) ? 1 : 0;
        json_object_put(event);
        return r;
}

/* When to give up: --timeout, but never before the first line had its chance. */
static int64_t deadline_of(const struct waiter *w)
{
        if (w->deadline_ms < 0 || w->hello_seen ||
            w->connected_ms + HELLO_GRACE_MS < w->deadline_ms)
                return w->deadline_ms;
        return w->connected_ms + HELLO_GRACE_MS;
}

static int poll_timeout(const struct waiter *w, int64_t now)
{
        int64_t until = deadline_of(w);
        if (w->cond.kind == WAIT_TCP && wait_cond_probe_in_state(w->state)) {
                int64_t probe = tcp_probe_deadline_ms(&w->probe);
                if (probe >= 0 && (until < 0 || probe < until))
                        until = probe;
        }
        if (until < 0)
                return -1;
        return until <= now ? 0 : until - now > INT_MAX ? INT_MAX : (int)(until - now);
}

/* stopped: the stream ended; until its vmlaunch is gone (the lock with it), so that a
 * `vmlaunch run` right after is not refused as busy. Then the state as `status` has it. */
static enum wait_result wait_vmlaunch_gone(struct waiter *w)
{
        while (w->vmlaunch_pidfd >= 0) {
                struct pollfd pfd = {.fd = w->vmlaunch_pidfd, .events = POLLIN};
                int timeout = poll_timeout(w, vl_monotonic_ms());
                int n = poll(&pfd, 1, timeout);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0)
                        return WAITED_TIMEOUT;
                break;
        }
        struct runstate st;
        bool running = false;
        struct vl_error err = {0};
        if (ctl_vm_state(w->name, &st, &running, &err) == 0 && !running)
                snprintf(w->state, sizeof(w->state), "%s", st.state);
        return WAITED_HELD;
}

/* Follows the stream until the condition holds, the run ends, or the deadline: a
 * wait_result, FOLLOW_AGAIN after "lagged", -1 on errors already printed. */
static int follow(struct waiter *w)
{
        for (;;) {
                const char *line;
                while ((line = events_stream_next_line(&w->stream))) {
                        int r = take_line(w, line);
                        if (r < 0)
                                return -1;
                        if (r == 1)
                                return w->cond.kind == WAIT_STOPPED ? wait_vmlaunch_gone(w)
                                                                    : WAITED_HELD;
                        if (r == FOLLOW_AGAIN)
                                return FOLLOW_AGAIN;
                }
                if (w->stream.eof)
                        return w->cond.kind == WAIT_STOPPED ? wait_vmlaunch_gone(w) : WAITED_ENDED;
                int64_t now = vl_monotonic_ms();
                if (w->cond.kind == WAIT_TCP) {
                        if (!wait_cond_probe_in_state(w->state))
                                tcp_probe_pause(&w->probe);
                        else if (tcp_probe_step(&w->probe, NULL, 0, now))
                                return WAITED_HELD;
                }
                if (deadline_of(w) >= 0 && now >= deadline_of(w))
                        return WAITED_TIMEOUT;
                struct pollfd fds[2] = {{.fd = w->stream.fd, .events = POLLIN}};
                size_t n_fds = 1 + tcp_probe_pollfds(&w->probe, fds + 1, 1);
                int n = poll(fds, n_fds, poll_timeout(w, now));
                if (n < 0 && errno != EINTR) {
                        fprintf(stderr, "vmlaunch wait: poll: %s\n", strerror(errno));
                        return -1;
                }
                if (n > 0 && n_fds == 2 && fds[1].revents &&
                    tcp_probe_step(&w->probe, fds + 1, 1, vl_monotonic_ms()))
                        return WAITED_HELD;
                struct vl_error err = {0};
                if (n > 0 && fds[0].revents && events_stream_read(&w->stream, &err) < 0) {
                        fprintf(stderr, "vmlaunch wait: %s: %s\n", w->name, err.msg);
                        return -1;
                }
        }
}

/* Connects (again, after "lagged") and follows; -1 on errors already printed. */
static int wait_for(struct waiter *w)
{
        for (;;) {
                struct vl_error err = {0};
                struct runstate st;
                int r = events_stream_open(w->name, w->deadline_ms, &w->stream, &st, &err);
                if (r == -ESRCH) {
                        snprintf(w->state, sizeof(w->state), "%s", st.state);
                        return w->cond.kind == WAIT_STOPPED ? WAITED_HELD : WAITED_NOT_RUNNING;
                }
                if (r == -ETIMEDOUT && w->deadline_ms >= 0 && vl_monotonic_ms() >= w->deadline_ms)
                        return WAITED_TIMEOUT;
                if (r < 0) {
                        fprintf(stderr, "vmlaunch wait: %s\n", err.msg);
                        return -1;
                }
                w->connected_ms = vl_monotonic_ms();
                w->hello_seen = false;
                int res = follow(w);
                events_stream_close(&w->stream);
                if (res != FOLLOW_AGAIN)
                        return res;
        }
}

static void report(const struct waiter *w, enum wait_result res, bool json)
{
        double waited_s = (double)(vl_monotonic_ms() - w->start_ms) / 1000.0;
        const char *state = *w->state ? w->state : "unknown";
        if (json) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "vm", json_object_new_string(w->name));
                json_object_object_add(o, "condition", json_object_new_string(w->cond_text));
                json_object_object_add(o, "result", json_object_new_string(result_names[res]));
                json_object_object_add(o, "state", json_object_new_string(state));
                json_object_object_add(o, "exit_code",
                                       w->exited ? json_object_new_int(w->exit_code) : NULL);
                json_object_object_add(o, "reason",
                                       w->exited ? json_object_new_string(w->reason) : NULL);
                char waited[32];
                snprintf(waited, sizeof(waited), "%.3f", waited_s);
                json_object_object_add(o, "waited_s", json_object_new_double_s(waited_s, waited));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                         JSON_C_TO_STRING_SPACED));
                json_object_put(o);
                return;
        }
        char exited[320] = "";
        if (w->exited)
                snprintf(exited, sizeof(exited), ": exit %d (%s)", w->exit_code, w->reason);
        switch (res) {
        case WAITED_HELD:
                printf("%s: %s holds (state %s)%s\n", w->name, w->cond_text, state, exited);
                if (streq(state, "needs-restore"))
                        printf("%s: no vmlaunch runs it, but the host is still prepared: run `vmlaunch restore %s`\n",
                               w->name, w->name);
                break;
        case WAITED_TIMEOUT:
                fprintf(stderr, "vmlaunch wait: %s: %s did not hold within %.0f s (state %s)\n",
                        w->name, w->cond_text, (double)(w->deadline_ms - w->start_ms) / 1000.0,
                        state);
                break;
        case WAITED_ENDED:
                fprintf(stderr, "vmlaunch wait: %s: its run ended before %s held%s\n", w->name,
                        w->cond_text,
                        *exited ? exited : " (its vmlaunch ended without an \"exited\" event)");
                break;
        case WAITED_NOT_RUNNING:
                fprintf(stderr, "vmlaunch wait: %s is not running (state: %s)\n", w->name, state);
                break;
        }
}

enum { OPT_JSON = VL_CLI_OPT_VERB, OPT_FOR, OPT_TIMEOUT };

static const struct option wait_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"for", required_argument, NULL, OPT_FOR},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {0},
};

int cmd_wait(int argc, char **argv)
{
        bool json = false;
        long timeout_s = -1;
        struct waiter w = {.vmlaunch_pidfd = -1, .probe = {.fd = -1}};
        struct vl_cli_parser p = vl_cli_parser("wait", argc, argv, "-:h", wait_options);
        const char *arg;
        char why[512];
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_FOR:
                        if (!arg) {
                                fprintf(stderr,
                                        "vmlaunch wait: --for needs a condition: running, stopped, agent, ready or tcp:HOST:PORT\n");
                                return VL_EXIT_USAGE;
                        }
                        if (wait_cond_parse(arg, &w.cond, why, sizeof(why)) < 0) {
                                fprintf(stderr, "vmlaunch wait: --for %s\n", why);
                                return VL_EXIT_USAGE;
                        }
                        w.cond_text = arg;
                        break;
                case OPT_TIMEOUT:
                        timeout_s = vl_cli_timeout_s("wait", arg);
                        if (timeout_s < 0)
                                return VL_EXIT_USAGE;
                        break;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("wait", "NAME", arg, &w.name) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!w.name || !w.cond_text) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        if (w.cond.kind == WAIT_TCP && resolve(&w) < 0)
                return VL_EXIT_USAGE;

        w.start_ms = vl_monotonic_ms();
        w.deadline_ms = timeout_s >= 0 ? w.start_ms + (int64_t)timeout_s * 1000 : -1;
        int res = wait_for(&w);
        tcp_probe_free(&w.probe);
        if (w.vmlaunch_pidfd >= 0)
                close(w.vmlaunch_pidfd);
        if (res < 0)
                return VL_EXIT_FAILURE;
        if (!*w.state) { /* no line came (a run busy in a long host step): the state file */
                struct runstate st;
                bool running = false;
                if (ctl_vm_state(w.name, &st, &running, NULL) == 0)
                        snprintf(w.state, sizeof(w.state), "%s", st.state);
        }
        report(&w, res, json);
        switch (res) {
        case WAITED_HELD:
                return VL_EXIT_OK;
        case WAITED_TIMEOUT:
                return VL_EXIT_TIMEOUT;
        default:
                return VL_EXIT_NOT_RUNNING;
        }
}
