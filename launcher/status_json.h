/* The fields `status --json` and `list --json` share for one VM (vmlaunch(1),
 * STATUS FIELDS). */
#pragma once

#include <stdbool.h>

#include "run/runstate.h"

struct json_object;

/* {"name", "state", "step", "guest", "agent", "ready", "running", "pid", "qemu_pid",
 * "started", "uptime_s"}: null where a value does not apply. */
struct json_object *status_json(const char *name, const struct runstate *st, bool running);

/* Seconds the guest has run, 0 before it ran. */
long long status_uptime_s(const struct runstate *st);
