/* What `status`, `stop` and `qmp` share: finding a running VM by name (its
 * run dir, lock and state file) and talking to its ctl.qmp monitor. */
#pragma once

#include <stdbool.h>

#include "run/runstate.h"
#include "util/error.h"

struct qmp_client;

#define CTL_CONNECT_TIMEOUT_MS 2000
#define CTL_COMMAND_TIMEOUT_MS 30000

/* Fills *run_dir (malloc'd) and *st. -ESRCH with err "NAME is not running" when
 * no vmlaunch holds the VM's lock. */
int ctl_find_running(const char *name, char **run_dir, struct runstate *st, struct vl_error *err);

/* The state of NAME whether it runs or not, for `status`, `list` and `wait`: a
 * running vmlaunch's state file (*running true), or st->state "needs-restore" (a
 * journal waits, no vmlaunch runs) or "stopped", the rest of st zero. */
int ctl_vm_state(const char *name, struct runstate *st, bool *running, struct vl_error *err);

/* Sends one request line to RUN_DIR/events.sock and reads the one line that answers
 * it (malloc'd, without the newline), waiting at most timeout_ms. */
int ctl_request(const char *run_dir, const char *request, int timeout_ms, char **reply,
                struct vl_error *err);

/* Connects to RUN_DIR/ctl.qmp and negotiates capabilities. */
int ctl_connect(const char *run_dir, struct qmp_client **out, struct vl_error *err);
