/* The lines of a run's events socket (run/event_hub.h) as `events` and `wait` read
 * them: cut from the byte stream, and in the words `events` prints without --json.
 * Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct json_object;

/* The longest line accepted: what the run may queue for one listener. */
#define EVENT_LINE_MAX_BYTES (256 * 1024)

/* Bytes as they arrive, handed out one line at a time. */
struct event_lines {
        char *buf;
        size_t len, cap;
        size_t start; /* where the next line begins */
};

/* Appends n bytes. -ENOMEM, or -E2BIG when a line grows beyond EVENT_LINE_MAX_BYTES. */
int event_lines_feed(struct event_lines *l, const char *data, size_t n);

/* The next whole line (no newline, NUL-terminated, valid until the next feed), or NULL. */
const char *event_lines_next(struct event_lines *l);

/* Bytes that are not a whole line yet (at EOF: a cut-off last line). */
size_t event_lines_pending(const struct event_lines *l);

void event_lines_free(struct event_lines *l);

/* A field of an event line: the string, or NULL when absent or not a string. */
const char *event_field(struct json_object *event, const char *key);

/* The event's name ("hello", "running", "exited", "lagged", ...), NULL for a line that
 * is no event (a refusal such as {"error": ...}). */
const char *event_name(struct json_object *event);

/* One event as `vmlaunch events` prints it without --json, e.g. "15:04:07 preparing
 * vfio", "15:04:09 exited 0 (the guest powered off)"; the time is local. */
void event_text(struct json_object *event, char *buf, size_t len);
