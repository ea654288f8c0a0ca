/* Does a TCP port accept connections? A non-blocking connect, tried again with a
 * wait that doubles up to a cap, driven by a poll loop ([session] ready = tcp:...,
 * `vmlaunch wait --for tcp:...`). */
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "util/error.h"

#define TCP_PROBE_FIRST_WAIT_MS      100
#define TCP_PROBE_MAX_WAIT_MS        5000
#define TCP_PROBE_CONNECT_TIMEOUT_MS 3000

struct tcp_probe {
        struct sockaddr_storage addr;
        socklen_t addr_len;
        char label[300];   /* "HOST:PORT" for messages */
        int fd;            /* a connect in progress, or -1 */
        long long next_ms; /* when to try (fd < 0) or give up on this try (fd >= 0) */
        int wait_ms;
        bool open; /* a connection succeeded */
};

/* Resolves host (an address, or a name: getaddrinfo blocks for it, once) and port.
 * The first try is due at once. */
int tcp_probe_init(struct tcp_probe *p, const char *host, unsigned port, struct vl_error *err);

/* Drives the probe: starts a try when due, finishes one that completed. true once
 * the port accepted a connection. */
bool tcp_probe_step(struct tcp_probe *p, const struct pollfd *fds, size_t n, long long now_ms);

size_t tcp_probe_pollfds(const struct tcp_probe *p, struct pollfd *fds, size_t max);
long long tcp_probe_deadline_ms(const struct tcp_probe *p);
void tcp_probe_close(struct tcp_probe *p);
