#include "run/event_hub.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run/monitor_socket.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/macro.h"

enum client_kind {
        CLIENT_ASKING,    /* has not sent its request line yet */
        CLIENT_LISTENER,  /* follows the events */
        CLIENT_ANSWERING, /* a request is being handled: waits for its reply */
        CLIENT_CLOSING,   /* sends what is queued, then is closed */
};

struct client {
        unsigned long id;
        int fd;
        enum client_kind kind;
        char *in; /* the request line as it arrives */
        size_t in_len;
        char *out; /* queued output: out[out_start..out_len) */
        size_t out_start, out_len, out_cap;
        unsigned long dropped; /* lines a lagging listener missed */
        bool eof;              /* it sends nothing more (it may still read) */
};

struct event_hub {
        int listen_fd;
        char *path;
        struct event_hub_handlers handlers;
        struct client clients[EVENT_HUB_MAX_CLIENTS];
        size_t n_clients;
        unsigned long next_id;
};

static void client_free(struct client *c)
{
        if (c->fd >= 0)
                close(c->fd);
        free(c->in);
        free(c->out);
        *c = (struct client){.fd = -1};
}

/* Queues bytes; false when the client would hold more than its bound (+ slack for
 * the one "lagged" line that may follow). */
static bool client_queue(struct client *c, const char *data, size_t len, size_t bound)
{
        if (c->out_len - c->out_start + len > bound)
                return false;
        if (c->out_start && c->out_len + len > c->out_cap) {
                memmove(c->out, c->out + c->out_start, c->out_len - c->out_start);
                c->out_len -= c->out_start;
                c->out_start = 0;
        }
        if (c->out_len + len > c->out_cap) {
                size_t cap = c->out_cap ? c->out_cap : 4096;
                while (cap < c->out_len + len)
                        cap *= 2;
                char *out = realloc(c->out, cap);
                if (!out)
                        return false;
                c->out = out;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
        return true;
}

static bool client_queue_line(struct client *c, const char *line, size_t bound)
{
        size_t len = strlen(line);
        if (c->out_len - c->out_start + len + 1 > bound)
                return false;
        return client_queue(c, line, len, bound) && client_queue(c, "\n", 1, bound);
}

/* Writes what is queued; false when the client is gone. */
static bool client_flush(struct client *c)
{
        while (c->out_start < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_start, c->out_len - c->out_start,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return true;
                if (n <= 0)
                        return false;
                c->out_start += (size_t)n;
        }
        c->out_start = c->out_len = 0;
        return true;
}

/* The last line a lagging listener gets: how much it missed. Room for it is kept
 * beyond the bound. */
static void client_lagged(struct client *c)
{
        char line[160];
        snprintf(
                line, sizeof(line),
                "{\"event\":\"lagged\",\"dropped\":%lu,\"why\":\"this listener read too slowly; connect again to follow on\"}",
                c->dropped ? c->dropped : 1);
        (void)client_queue_line(c, line, EVENT_HUB_LISTENER_BUFFER_BYTES + sizeof(line) + 1);
        c->kind = CLIENT_CLOSING;
}

static void reply_error(struct client *c, const char *why)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(why));
        (void)client_queue_line(c, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                                EVENT_HUB_REQUEST_MAX_BYTES);
        json_object_put(o);
        c->kind = CLIENT_CLOSING;
}

static void start_listening(struct event_hub *hub, struct client *c)
{
        c->kind = CLIENT_LISTENER;
        _cleanup_free_ char *hello =
                hub->handlers.hello ? hub->handlers.hello(hub->handlers.userdata) : NULL;
        if (hello && !client_queue_line(c, hello, EVENT_HUB_LISTENER_BUFFER_BYTES))
                client_lagged(c);
}

/* A whole request line arrived: a listener, or a request for the handler. */
static void handle_request(struct event_hub *hub, struct client *c)
{
        struct json_object *req = json_tokener_parse(c->in);
        struct json_object *what = NULL;
        const char *name = NULL;
        if (req && json_object_is_type(req, json_type_object) &&
            json_object_object_get_ex(req, "request", &what) &&
            json_object_is_type(what, json_type_string))
                name = json_object_get_string(what);
        if (!name)
                reply_error(c, "expected one line {\"request\": \"events\"} or another request");
        else if (streq(name, "events"))
                start_listening(hub, c);
        else if (!hub->handlers.request)
                reply_error(c, "this run takes no requests but \"events\"");
        else {
                c->kind = CLIENT_ANSWERING;
                hub->handlers.request(hub->handlers.userdata, c->id, req);
        }
        json_object_put(req);
}

/* After its EOF a client is gone only once it hung up completely. */
static bool client_hung_up(const struct client *c)
{
        struct pollfd p = {.fd = c->fd, .events = 0};
        return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Reads the request line; a listener's further input is read and ignored. A client
 * may half-close after its request (echo ... | socat). false when it is gone. */
static bool client_read(struct event_hub *hub, struct client *c)
{
        if (c->eof)
                return !client_hung_up(c);
        for (;;) {
                char buf[4096];
                ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return true;
                if (n < 0)
                        return false;
                if (n == 0) {
                        c->eof = true;
                        if (c->kind == CLIENT_ASKING && c->in_len)
                                handle_request(hub, c); /* the last line had no newline */
                        return c->kind != CLIENT_ASKING && !client_hung_up(c);
                }
                if (c->kind != CLIENT_ASKING)
                        continue;
                const char *nl = memchr(buf, '\n', (size_t)n);
                size_t take = nl ? (size_t)(nl - buf) : (size_t)n;
                if (c->in_len + take >= EVENT_HUB_REQUEST_MAX_BYTES) {
                        reply_error(c, "the request line is too long");
                        return true;
                }
                char *in = realloc(c->in, c->in_len + take + 1);
                if (!in)
                        return false;
                c->in = in;
                memcpy(c->in + c->in_len, buf, take);
                c->in_len += take;
                c->in[c->in_len] = '\0';
                if (nl)
                        handle_request(hub, c);
        }
}

static void accept_clients(struct event_hub *hub)
{
        for (;;) {
                int fd = accept4(hub->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                        return; /* EAGAIN: none left; other errors: try on the next round */
                if (hub->n_clients == EVENT_HUB_MAX_CLIENTS) {
                        static const char busy[] =
                                "{\"error\":\"too many clients of this run; try again later\"}\n";
                        (void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                        close(fd);
                        continue;
                }
                hub->clients[hub->n_clients++] =
                        (struct client){.id = ++hub->next_id, .fd = fd, .kind = CLIENT_ASKING};
        }
}

/* Drops closed clients, keeping the order of the others. */
static void compact(struct event_hub *hub)
{
        size_t j = 0;
        for (size_t i = 0; i < hub->n_clients; i++)
                if (hub->clients[i].fd >= 0)
                        hub->clients[j++] = hub->clients[i];
        hub->n_clients = j;
}

void event_hub_serve(struct event_hub *hub)
{
        if (!hub)
                return;
        accept_clients(hub);
        for (size_t i = 0; i < hub->n_clients; i++) {
                struct client *c = &hub->clients[i];
                bool alive = client_read(hub, c) && client_flush(c);
                if (!alive || (c->kind == CLIENT_CLOSING && c->out_start == c->out_len))
                        client_free(c);
        }
        compact(hub);
}

int event_hub_open(const char *path, const struct event_hub_handlers *handlers,
                   struct event_hub **hubp, struct vl_error *err)
{
        struct event_hub *hub = calloc(1, sizeof(*hub));
        if (!hub || !(hub->path = strdup(path))) {
                free(hub);
                return vl_error_set(err, ENOMEM, "events socket");
        }
        hub->handlers = *handlers;
        hub->listen_fd = monitor_socket_listen(path, err);
        if (hub->listen_fd < 0) {
                free(hub->path);
                free(hub);
                return -1;
        }
        int flags = fcntl(hub->listen_fd, F_GETFL);
        (void)fcntl(hub->listen_fd, F_SETFL, flags | O_NONBLOCK);
        *hubp = hub;
        return 0;
}

void event_hub_publish(struct event_hub *hub, const char *line)
{
        if (!hub)
                return;
        event_hub_serve(hub); /* those who connected meanwhile see this line too */
        for (size_t i = 0; i < hub->n_clients; i++) {
                struct client *c = &hub->clients[i];
                if (c->kind != CLIENT_LISTENER)
                        continue;
                if (!client_queue_line(c, line, EVENT_HUB_LISTENER_BUFFER_BYTES)) {
                        c->dropped++;
                        client_lagged(c);
                }
                if (!client_flush(c))
                        client_free(c);
        }
        compact(hub);
}

void event_hub_reply(struct event_hub *hub, unsigned long id, const char *line)
{
        for (size_t i = 0; hub && i < hub->n_clients; i++) {
                struct client *c = &hub->clients[i];
                if (c->id != id || c->kind != CLIENT_ANSWERING)
                        continue;
                if (!client_queue_line(c, line, EVENT_HUB_REQUEST_MAX_BYTES))
                        reply_error(c, "the answer is too long");
                c->kind = CLIENT_CLOSING;
                if (!client_flush(c) || c->out_start == c->out_len)
                        client_free(c);
                compact(hub);
                return;
        }
}

size_t event_hub_pollfds(const struct event_hub *hub, struct pollfd *fds, size_t max)
{
        size_t n = 0;
        if (!hub || !max)
                return 0;
        fds[n++] = (struct pollfd){.fd = hub->listen_fd, .events = POLLIN};
        for (size_t i = 0; i < hub->n_clients && n < max; i++) {
                const struct client *c = &hub->clients[i];
                /* POLLHUP is reported whatever is asked for */
                short events = c->kind == CLIENT_CLOSING || c->eof ? 0 : POLLIN;
                if (c->out_start < c->out_len)
                        events |= POLLOUT;
                fds[n++] = (struct pollfd){.fd = c->fd, .events = events};
        }
        return n;
}

/* What is still queued when the run ends (the "exited" line) gets a short, bounded
 * chance to reach listeners that read; the run does not wait on those that do not. */
static void flush_before_close(struct event_hub *hub)
{
        long long deadline = vl_monotonic_ms() + EVENT_HUB_CLOSE_FLUSH_MS;
        for (;;) {
                struct pollfd fds[EVENT_HUB_MAX_CLIENTS];
                size_t n = 0;
                for (size_t i = 0; i < hub->n_clients; i++) {
                        struct client *c = &hub->clients[i];
                        if (c->fd >= 0 && client_flush(c) && c->out_start < c->out_len)
                                fds[n++] = (struct pollfd){.fd = c->fd, .events = POLLOUT};
                }
                long long left = deadline - vl_monotonic_ms();
                if (!n || left <= 0 || poll(fds, n, (int)left) <= 0)
                        return;
        }
}

void event_hub_close(struct event_hub *hub)
{
        if (!hub)
                return;
        flush_before_close(hub);
        for (size_t i = 0; i < hub->n_clients; i++)
                client_free(&hub->clients[i]);
        close(hub->listen_fd);
        unlink(hub->path);
        free(hub->path);
        free(hub);
}
