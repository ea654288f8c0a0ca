/* Following a run's events socket, RUN_DIR/events.sock (run/event_hub.h), for
 * `events` and `wait`: connecting to it even while the run is still starting up, and
 * reading its lines. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "launcher/event_line.h"
#include "run/runstate.h"
#include "util/error.h"

struct json_object;

/* A vmlaunch creates its events socket right after it takes the run's lock; this long
 * at most, it may hold the lock without one (or it is a `restore` at work). */
#define EVENTS_SOCKET_APPEAR_TIMEOUT_MS 10000

struct events_stream {
        int fd;
        struct event_lines lines;
        bool eof;
};

/* Connects to NAME's events socket and asks for the events; the hello line comes
 * first. While NAME's lock is held but the socket is not there yet, waits for it
 * (inotify on the run dir) until deadline_ms (vl_monotonic_ms; < 0: none) or
 * EVENTS_SOCKET_APPEAR_TIMEOUT_MS, whichever comes first.
 * -ESRCH when no vmlaunch runs NAME: *not_running then holds its state (stopped or
 * needs-restore) and err says "NAME is not running (state: ...)". -ETIMEDOUT when
 * deadline_ms passed. */
int events_stream_open(const char *name, int64_t deadline_ms, struct events_stream *s,
                       struct runstate *not_running, struct vl_error *err);

/* Reads what is there (the socket is non-blocking): 0, with s->eof set at the end
 * of the stream, or -errno. */
int events_stream_read(struct events_stream *s, struct vl_error *err);

/* The next whole line as text, or NULL (then read again, unless s->eof). */
const char *events_stream_next_line(struct events_stream *s);

void events_stream_close(struct events_stream *s);
