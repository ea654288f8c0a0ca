/* Does a TCP port accept connections? Non-blocking connects, each given up after a
 * while, tried again with a wait that doubles up to a cap and going round the host's
 * addresses, driven by a poll loop ([session] ready = tcp:..., `vmlaunch wait --for
 * tcp:...`). */
#pragma once

#include <netdb.h>
#include <poll.h>
#include <stdbool.h>

#include "util/error.h"

/* The first try at once, then 100 ms, 200 ms, ... at most 5 s apart; one connect
 * that gets no answer (a host that drops SYNs) is given up after 3 s. */
#define TCP_PROBE_FIRST_WAIT_MS      100
#define TCP_PROBE_MAX_WAIT_MS        5000
#define TCP_PROBE_CONNECT_TIMEOUT_MS 3000

struct tcp_probe {
        struct addrinfo *addrs, *next_addr;
        char label[300];   /* "HOST:PORT" for messages */
        int fd;            /* a connect in flight, or -1 */
        long long next_ms; /* when to try (fd < 0) or give up on this try (fd >= 0) */
        int wait_ms;
        bool open; /* a connection succeeded */
};

/* Resolves host (an address; else a name, through the resolver, which may block)
 * and port; the first try is due at once. err says why a host does not resolve. */
int tcp_probe_init(struct tcp_probe *p, const char *host, const char *port, struct vl_error *err);

/* Drives the probe after poll (fds: what tcp_probe_pollfds gave, with revents; may
 * be NULL): starts a try when due, finishes one that completed. true once the port
 * accepted a connection. */
bool tcp_probe_step(struct tcp_probe *p, const struct pollfd *fds, size_t n, long long now_ms);

size_t tcp_probe_pollfds(const struct tcp_probe *p, struct pollfd *fds, size_t max);
/* When tcp_probe_step wants to run next (CLOCK_MONOTONIC ms), -1 once open. */
long long tcp_probe_deadline_ms(const struct tcp_probe *p);
/* Gives up the connect in flight (the next step starts a new one when due). */
void tcp_probe_pause(struct tcp_probe *p);
void tcp_probe_free(struct tcp_probe *p);
