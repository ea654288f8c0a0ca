/* [session] ready: when the session counts as usable, for READY=1 (systemd,
 * `vmlaunch start`), the "ready" event and `status`. running: as soon as the guest
 * runs; agent: once the guest agent answers; tcp: once HOST:PORT accepts a
 * connection (tcp:PORT: at the address the agent reports). Past ready_timeout the
 * run is stopped (exit 13). */
#pragma once

#include <poll.h>
#include <stdbool.h>

#include "run/session.h"
#include "run/tcp_probe.h"
#include "vmdefs/vmdef.h"

/* How long to wait before asking the agent again for an address (DHCP may still
 * be running in the guest). */
#define READINESS_ADDRESS_RETRY_MS 2000

struct readiness {
        const struct vm_def *def;
        struct session *session;
        bool ready, timed_out, probing;
        long long timeout_at_ms; /* -1: none */
        /* When to ask the agent for an address again (tcp:PORT), or to resolve HOST
         * again (tcp:HOST:PORT); -1: not now. */
        long long ask_address_at_ms;
        struct tcp_probe probe;
        /* tcp:PORT: asks the agent for guest-network-get-interfaces; its answer comes
         * back through readiness_interfaces(). */
        void (*ask_interfaces)(void *userdata);
        void *userdata;
};

/* The guest runs (with every thread pinned). */
void readiness_start(struct readiness *r, long long now_ms);
/* The guest agent answered guest-ping. */
void readiness_agent_up(struct readiness *r, long long now_ms);
/* The agent's answer to guest-network-get-interfaces (a JSON line). */
void readiness_interfaces(struct readiness *r, const char *reply, long long now_ms);

size_t readiness_pollfds(void *r, struct pollfd *fds, size_t max);
void readiness_dispatch(void *r, const struct pollfd *fds, size_t n, long long now_ms);
long long readiness_deadline_ms(void *r);
void readiness_close(struct readiness *r);

/* The first usable address in a guest-network-get-interfaces reply (IPv4 first,
 * then a global IPv6; loopback and link-local skipped) into buf; false when none. */
bool readiness_pick_address(const char *reply, char *buf, size_t len);
