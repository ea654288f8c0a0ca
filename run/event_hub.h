/* The run's events socket, RUN_DIR/events.sock (0600 in a 0700 run dir: root only).
 *
 * A client connects and writes one request line, a JSON object:
 *   {"request":"events"}   it is sent the hello line, then every event line until the
 *                          run ends (EOF); a client that does not keep up is sent a
 *                          last {"event":"lagged",...} line and dropped
 *   anything else          handed to the request handler, which answers with exactly
 *                          one line (event_hub_reply); then the connection is closed
 *
 * Nothing here blocks: listeners get bounded buffers, sockets are non-blocking, and
 * the supervisor polls the hub's descriptors. While the run is busy elsewhere (host
 * preparation), every publish first serves what waits (new clients, requests). */
#pragma once

#include <poll.h>
#include <stddef.h>

#include "util/error.h"

struct event_hub;
struct json_object;

/* What a listener may have queued before it is dropped as lagging. */
#define EVENT_HUB_LISTENER_BUFFER_BYTES (256 * 1024)
/* The longest request line a client may send (an agent command with its arguments). */
#define EVENT_HUB_REQUEST_MAX_BYTES (64 * 1024)
/* How long the end of a run may wait for listeners to take their last lines. */
#define EVENT_HUB_CLOSE_FLUSH_MS 1000
/* At most this many clients at once; more are refused with an error line. */
#define EVENT_HUB_MAX_CLIENTS 64

struct event_hub_handlers {
        void *userdata;
        /* The first line a new listener gets (no newline), malloc'd: the state now. */
        char *(*hello)(void *userdata);
        /* A request other than "events"; answer with event_hub_reply(client, ...),
         * now or later. request is borrowed for the call. */
        void (*request)(void *userdata, unsigned long client, struct json_object *request);
};

/* Listens on path (replacing a stale socket there). */
int event_hub_open(const char *path, const struct event_hub_handlers *handlers,
                   struct event_hub **hub, struct vl_error *err);

/* Sends line (one JSON object, no newline) to every listener. */
void event_hub_publish(struct event_hub *hub, const char *line);

/* Answers a request client with line and closes it once written. Unknown or gone
 * clients are ignored. */
void event_hub_reply(struct event_hub *hub, unsigned long client, const char *line);

/* Serves whatever waits without blocking: new clients, requests, pending output. */
void event_hub_serve(struct event_hub *hub);

/* The descriptors to poll (at most max); then event_hub_serve() when any is ready. */
size_t event_hub_pollfds(const struct event_hub *hub, struct pollfd *fds, size_t max);

/* Gives listeners up to EVENT_HUB_CLOSE_FLUSH_MS to take what is queued (the last
 * lines: "exited"), closes every client (their stream ends) and the socket, and
 * unlinks it. NULL is fine. */
void event_hub_close(struct event_hub *hub);
