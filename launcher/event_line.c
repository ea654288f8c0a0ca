#include "launcher/event_line.h"

#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/macro.h"

int event_lines_feed(struct event_lines *l, const char *data, size_t n)
{
        if (l->start) { /* drop the lines already handed out */
                memmove(l->buf, l->buf + l->start, l->len - l->start);
                l->len -= l->start;
                l->start = 0;
        }
        if (l->len + n > EVENT_LINE_MAX_BYTES && !memchr(data, '\n', n) &&
            !memchr(l->buf, '\n', l->len))
                return -E2BIG;
        if (l->len + n + 1 > l->cap) {
                size_t cap = l->cap ? l->cap : 4096;
                while (cap < l->len + n + 1)
                        cap *= 2;
                char *buf = realloc(l->buf, cap);
                if (!buf)
                        return -ENOMEM;
                l->buf = buf;
                l->cap = cap;
        }
        memcpy(l->buf + l->len, data, n);
        l->len += n;
        return 0;
}

const char *event_lines_next(struct event_lines *l)
{
        if (l->start >= l->len)
                return NULL;
        char *line = l->buf + l->start;
        char *nl = memchr(line, '\n', l->len - l->start);
        if (!nl)
                return NULL;
        *nl = '\0';
        l->start = (size_t)(nl - l->buf) + 1;
        return line;
}

size_t event_lines_pending(const struct event_lines *l)
{
        return l->len - l->start;
}

void event_lines_free(struct event_lines *l)
{
        free(l->buf);
        *l = (struct event_lines){0};
}

const char *event_field(struct json_object *event, const char *key)
{
        struct json_object *v;
        if (!event || !json_object_object_get_ex(event, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

const char *event_name(struct json_object *event)
{
        return event_field(event, "event");
}

/* Appends printf-style to buf, never beyond len. */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t len, size_t *used,
                                                         const char *fmt, ...)
{
        if (*used >= len)
                return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf + *used, len - *used, fmt, ap);
        va_end(ap);
        if (n > 0)
                *used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

/* HH:MM:SS of the event's "time" (seconds since the epoch), local time. */
static void clock_of(struct json_object *event, char *buf, size_t len)
{
        struct json_object *t;
        snprintf(buf, len, "--:--:--");
        if (!json_object_object_get_ex(event, "time", &t))
                return;
        time_t secs = (time_t)json_object_get_double(t);
        struct tm tm;
        if (secs > 0 && localtime_r(&secs, &tm))
                strftime(buf, len, "%H:%M:%S", &tm);
}

/* Fields every line has, or that the text form shows in its own words. */
static bool shown_already(const char *key)
{
        static const char *const keys[] = {"time", "vm",       "event",  "state",
                                           "step", "change",   "reason", "exit_code",
                                           "ok",   "qemu_pid", "guest",  "detail"};
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(key, keys[i]))
                        return true;
        return false;
}

/* The rest as key=value, QMP event data included (e.g. a panic's "info"). */
static void append_other_fields(struct json_object *event, char *buf, size_t len, size_t *used)
{
        json_object_object_foreach(event, key, value)
        {
                if (shown_already(key) || !value)
                        continue;
                append(buf, len, used, " %s=%s", key,
                       json_object_is_type(value, json_type_string)
                               ? json_object_get_string(value)
                               : json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
        }
}

void event_text(struct json_object *event, char *buf, size_t len)
{
        char clock[16];
        size_t used = 0;
        const char *name = event_name(event);
        const char *state = event_field(event, "state");
        const char *step = event_field(event, "step");
        const char *change = event_field(event, "change");
        /* exited: its detail says the reason and more ("stopped on request: QEMU
         * exited with status 0") */
        const char *reason = event_field(event, "detail") ? event_field(event, "detail")
                                                          : event_field(event, "reason");
        struct json_object *v;

        if (!len)
                return;
        buf[0] = '\0';
        clock_of(event, clock, sizeof(clock));
        if (!name) {
                const char *error = event_field(event, "error");
                append(buf, len, &used, "%s error: %s", clock, error ? error : "(no event)");
                return;
        }
        append(buf, len, &used, "%s %s", clock, name);
        if (streq(name, "hello")) {
                /* The state when this listener came: "15:04:05 state preparing vfio". */
                used = 0;
                append(buf, len, &used, "%s state %s", clock, state ? state : "?");
                if (step)
                        append(buf, len, &used, " %s", step);
                const char *guest = event_field(event, "guest");
                if (guest)
                        append(buf, len, &used, ", guest %s", guest);
                const char *agent = event_field(event, "agent");
                if (agent)
                        append(buf, len, &used, ", agent %s", agent);
                if (json_object_object_get_ex(event, "ready", &v) && json_object_get_boolean(v))
                        append(buf, len, &used, ", ready");
                return;
        }
        if (step)
                append(buf, len, &used, " %s", step);
        if (change)
                append(buf, len, &used, ": %s", change);
        if (json_object_object_get_ex(event, "qemu_pid", &v) && v)
                append(buf, len, &used, " pid %d", json_object_get_int(v));
        if (json_object_object_get_ex(event, "exit_code", &v) && v)
                append(buf, len, &used, " %d", json_object_get_int(v));
        if (json_object_object_get_ex(event, "ok", &v) && v)
                append(buf, len, &used, json_object_get_boolean(v) ? " ok" : " with failures");
        if (json_object_object_get_ex(event, "guest", &v) &&
            json_object_is_type(v, json_type_boolean))
                append(buf, len, &used, " by the %s",
                       json_object_get_boolean(v) ? "guest" : "host");
        if (reason)
                append(buf, len, &used, " (%s)", reason);
        append_other_fields(event, buf, len, &used);
}
