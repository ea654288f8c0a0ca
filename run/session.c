#include "run/session.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run/event_hub.h"
#include "run/runlog.h"
#include "util/cleanup.h"
#include "util/macro.h"

struct session {
        char *run_dir;
        char *name;
        struct runstate st;
        enum session_state state;
        struct event_hub *hub;
        session_request_fn request;
        void *request_userdata;
};

static const char *const state_names[] = {
        [SESSION_PREPARING] = "preparing",
        [SESSION_STARTING] = "starting",
        [SESSION_RUNNING] = "running",
        [SESSION_STOPPING] = "stopping",
        [SESSION_RESTORING] = "restoring",
        [SESSION_STOPPED] = "stopped",
        [SESSION_NEEDS_RESTORE] = "needs-restore",
};

const char *session_state_name(enum session_state state)
{
        return (size_t)state < ELEMENTSOF(state_names) ? state_names[state] : "unknown";
}

static void write_state(struct session *s)
{
        struct vl_error err = {0};
        if (runstate_write(s->run_dir, &s->st, &err) < 0)
                runlog(LOG_WARNING, "%s", err.msg);
}

/* Seconds since the epoch with microseconds, as a JSON number (QMP's own timestamps
 * have the same resolution). */
static struct json_object *time_now(void)
{
        struct timespec ts;
        char text[32];
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(text, sizeof(text), "%lld.%06ld", (long long)ts.tv_sec, ts.tv_nsec / 1000);
        return json_object_new_double_s((double)ts.tv_sec + (double)ts.tv_nsec / 1e9, text);
}

static struct json_object *string_or_null(const char *s)
{
        return s && *s ? json_object_new_string(s) : NULL;
}

/* {"time", "vm", "event", "state", then fields}, one line. */
static char *event_line(const struct session *s, const char *event, struct json_object *fields)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "time", time_now());
        json_object_object_add(o, "vm", json_object_new_string(s->name));
        json_object_object_add(o, "event", json_object_new_string(event));
        json_object_object_add(o, "state", json_object_new_string(session_state_name(s->state)));
        if (fields) {
                json_object_object_foreach(fields, key, value)
                        json_object_object_add(o, key, json_object_get(value));
        }
        char *line = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return line;
}

/* The first line of every listener: the state now, as `status --json` has it. */
static char *hello(void *userdata)
{
        const struct session *s = userdata;
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "step", string_or_null(s->st.step));
        json_object_object_add(f, "pid", json_object_new_int64(s->st.pid));
        json_object_object_add(f, "qemu_pid",
                               s->st.qemu_pid ? json_object_new_int64(s->st.qemu_pid) : NULL);
        json_object_object_add(f, "guest", string_or_null(s->st.guest));
        json_object_object_add(f, "agent", string_or_null(s->st.agent));
        json_object_object_add(f, "ready", json_object_new_boolean(s->st.ready));
        char *line = event_line(s, "hello", f);
        json_object_put(f);
        return line;
}

static void on_request(void *userdata, unsigned long client, struct json_object *request)
{
        struct session *s = userdata;
        if (s->request) {
                s->request(s->request_userdata, client, request);
                return;
        }
        session_reply(s, client, "{\"error\":\"this run takes no requests but \\\"events\\\"\"}");
}

int session_open(const char *run_dir, const char *name, const struct runstate *st,
                 struct session **sp, struct vl_error *err)
{
        struct session *s = calloc(1, sizeof(*s));
        if (!s || !(s->run_dir = strdup(run_dir)) || !(s->name = strdup(name))) {
                if (s)
                        free(s->run_dir);
                free(s);
                return vl_error_set(err, ENOMEM, "publish the run's state");
        }
        s->st = *st;
        s->state = SESSION_PREPARING;
        snprintf(s->st.state, sizeof(s->st.state), "%s", session_state_name(s->state));
        write_state(s);
        _cleanup_free_ char *path = runstate_path(run_dir, RUNSTATE_EVENTS_SOCKET);
        struct event_hub_handlers handlers = {.userdata = s, .hello = hello, .request = on_request};
        /* Without the socket the run still runs: `status` reads the state file. */
        if (!path || event_hub_open(path, &handlers, &s->hub, err) < 0)
                runlog(LOG_WARNING, "no events for this run: %s",
                       path ? err->msg : "out of memory");
        *sp = s;
        return 0;
}

void session_set_request_handler(struct session *s, session_request_fn fn, void *userdata)
{
        s->request = fn;
        s->request_userdata = userdata;
}

void session_reply(struct session *s, unsigned long client, const char *line)
{
        event_hub_reply(s->hub, client, line);
}

static void publish(struct session *s, const char *event, struct json_object *fields)
{
        _cleanup_free_ char *line = event_line(s, event, fields);
        if (line)
                event_hub_publish(s->hub, line);
        json_object_put(fields);
}

void session_enter(struct session *s, enum session_state state, const char *step, const char *event,
                   struct json_object *fields)
{
        if (!s)
                return;
        /* Who connected meanwhile gets the state before this change as its hello,
         * then this event: never a hello that is ahead of the events after it. */
        event_hub_serve(s->hub);
        s->state = state;
        snprintf(s->st.state, sizeof(s->st.state), "%s", session_state_name(state));
        snprintf(s->st.step, sizeof(s->st.step), "%s", step ? step : "");
        write_state(s);
        if (!fields)
                fields = json_object_new_object();
        if (step && !json_object_object_get_ex(fields, "step", NULL))
                json_object_object_add(fields, "step", json_object_new_string(step));
        publish(s, event ? event : "state", fields);
}

void session_event(struct session *s, const char *event, struct json_object *fields)
{
        if (!s) {
                json_object_put(fields);
                return;
        }
        publish(s, event, fields);
}

void session_set_qemu(struct session *s, pid_t pid, uint64_t start_time)
{
        s->st.qemu_pid = pid;
        s->st.qemu_start = start_time;
        write_state(s);
}

void session_set_guest(struct session *s, const char *guest)
{
        if (!s || streq(s->st.guest, guest))
                return;
        snprintf(s->st.guest, sizeof(s->st.guest), "%s", guest);
        write_state(s);
}

void session_set_agent(struct session *s, bool up)
{
        const char *now = up ? "up" : "down";
        if (!s || streq(s->st.agent, now))
                return;
        event_hub_serve(s->hub); /* as in session_enter */
        snprintf(s->st.agent, sizeof(s->st.agent), "%s", now);
        write_state(s);
        publish(s, up ? "agent-up" : "agent-down", NULL);
}

void session_set_ready(struct session *s)
{
        if (!s || s->st.ready)
                return;
        event_hub_serve(s->hub); /* as in session_enter */
        s->st.ready = true;
        write_state(s);
        publish(s, "ready", NULL);
}

void session_set_started(struct session *s)
{
        s->st.started_s = (int64_t)time(NULL);
        write_state(s);
}

enum session_state session_state(const struct session *s)
{
        return s->state;
}

size_t session_pollfds(const struct session *s, struct pollfd *fds, size_t max)
{
        return s ? event_hub_pollfds(s->hub, fds, max) : 0;
}

void session_serve(struct session *s)
{
        if (s)
                event_hub_serve(s->hub);
}

void session_close(struct session *s, int exit_code, const char *reason, const char *detail,
                   bool journal_kept)
{
        if (!s)
                return;
        struct json_object *f = json_object_new_object();
        json_object_object_add(f, "exit_code", json_object_new_int(exit_code));
        json_object_object_add(f, "reason", json_object_new_string(reason));
        json_object_object_add(f, "detail", string_or_null(detail));
        session_enter(s, journal_kept ? SESSION_NEEDS_RESTORE : SESSION_STOPPED, NULL, "exited", f);
        event_hub_close(s->hub);
        free(s->run_dir);
        free(s->name);
        free(s);
}
