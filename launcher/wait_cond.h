/* The conditions of `vmlaunch wait NAME --for COND`, and whether an event line of the
 * run (run/event_hub.h: the hello line or an event) makes one hold. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum wait_kind {
        WAIT_RUNNING, /* the run's state is running */
        WAIT_STOPPED, /* no vmlaunch runs the VM (stopped, or needs-restore) */
        WAIT_AGENT,   /* the guest agent is up */
        WAIT_READY,   /* [session] ready holds */
        WAIT_TCP,     /* HOST:PORT accepts a TCP connection while the guest runs */
};

#define WAIT_HOST_MAX 256

struct wait_cond {
        enum wait_kind kind;
        char host[WAIT_HOST_MAX]; /* WAIT_TCP: a name or an address, IPv6 without brackets */
        char port[6];             /* WAIT_TCP: 1 to 65535, in decimal */
};

/* Parses COND: running, stopped, agent, ready, tcp:HOST:PORT (tcp:[IPV6]:PORT). -EINVAL
 * with why (a message without the verb's name) for anything else. */
int wait_cond_parse(const char *text, struct wait_cond *cond, char *why, size_t why_len);

/* Whether this line of the events socket makes cond hold: running by its "state",
 * agent by the hello's "agent" or agent-up, ready by the hello's "ready" or the ready
 * event, stopped by "exited" (the stream then ends). Never for tcp: that is probed. */
bool wait_cond_held_by(const struct wait_cond *cond, struct json_object *event);

/* tcp: whether to probe in this run state: only while the guest runs. */
bool wait_cond_probe_in_state(const char *state);
