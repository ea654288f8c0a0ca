#include "launcher/status_json.h"

#include <json-c/json.h>
#include <time.h>

static struct json_object *string_or_null(const char *s)
{
        return *s ? json_object_new_string(s) : NULL;
}

long long status_uptime_s(const struct runstate *st)
{
        return st->started_s ? (long long)time(NULL) - st->started_s : 0;
}

struct json_object *status_json(const char *name, const struct runstate *st, bool running)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "state", json_object_new_string(st->state));
        json_object_object_add(o, "step", string_or_null(st->step));
        json_object_object_add(o, "guest", string_or_null(st->guest));
        json_object_object_add(o, "agent", string_or_null(st->agent));
        json_object_object_add(o, "ready", json_object_new_boolean(st->ready));
        json_object_object_add(o, "running", json_object_new_boolean(running));
        json_object_object_add(o, "pid", st->pid ? json_object_new_int(st->pid) : NULL);
        json_object_object_add(o, "qemu_pid",
                               st->qemu_pid ? json_object_new_int(st->qemu_pid) : NULL);
        json_object_object_add(o, "started",
                               st->started_s ? json_object_new_int64(st->started_s) : NULL);
        json_object_object_add(o, "uptime_s", json_object_new_int64(status_uptime_s(st)));
        return o;
}
