/* What one run tells the world: its state machine, in RUN_DIR/state for `status`,
 * `list` and `stop`, and as event lines on RUN_DIR/events.sock (run/event_hub.h).
 *
 *   preparing(step) -> starting -> running -> stopping -> restoring -> stopped
 *                                                                   \-> needs-restore
 *
 * A run that fails before the guest runs goes from where it is to restoring (or
 * straight to stopped when nothing was changed). Every event line is one JSON object
 * {"time": seconds since the epoch, "vm": NAME, "event": NAME, "state": STATE, ...};
 * the list of events and their fields is in vmlaunch(1), EVENTS. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "run/runstate.h"
#include "util/error.h"

struct json_object;
struct session;

enum session_state {
        SESSION_PREPARING,
        SESSION_STARTING,
        SESSION_RUNNING,
        SESSION_STOPPING,
        SESSION_RESTORING,
        SESSION_STOPPED,
        SESSION_NEEDS_RESTORE,
};

const char *session_state_name(enum session_state state);

/* Answers requests other than "events" that reach the events socket (agent
 * commands): reply with session_reply(). */
typedef void (*session_request_fn)(void *userdata, unsigned long client,
                                   struct json_object *request);

/* Starts publishing: state preparing, the state file, the events socket. st holds
 * what is known already (pid, shutdown timeout). */
int session_open(const char *run_dir, const char *name, const struct runstate *st,
                 struct session **s, struct vl_error *err);
void session_set_request_handler(struct session *s, session_request_fn fn, void *userdata);
void session_reply(struct session *s, unsigned long client, const char *line);

/* A state change and its event: event names the event ("state" when NULL), fields
 * (consumed, may be NULL) are added to it. step is for preparing and restoring. */
void session_enter(struct session *s, enum session_state state, const char *step, const char *event,
                   struct json_object *fields);

/* An event that does not change the state (fields consumed, may be NULL). */
void session_event(struct session *s, const char *event, struct json_object *fields);

/* Facts that `status` shows: QEMU's process, the guest's run state ("running",
 * "paused", "shutdown"), the guest agent, readiness. Each rewrites the state file. */
void session_set_qemu(struct session *s, pid_t pid, uint64_t start_time);
void session_set_guest(struct session *s, const char *guest);
void session_set_agent(struct session *s, bool up); /* also the agent-up/-down event */
void session_set_ready(struct session *s);          /* also the "ready" event */
void session_set_started(struct session *s);        /* the guest was let run: uptime from now */

enum session_state session_state(const struct session *s);

/* For poll loops: the events socket's descriptors, and serving them. */
size_t session_pollfds(const struct session *s, struct pollfd *fds, size_t max);
void session_serve(struct session *s);

/* The end: state stopped (or needs-restore when a journal stays), the "exited" event
 * with vmlaunch's exit code, what it means (reason) and what happened (detail, may be
 * ""), the streams end; the state file stays until the run dir is cleaned up. NULL
 * is fine. */
void session_close(struct session *s, int exit_code, const char *reason, const char *detail,
                   bool journal_kept);
