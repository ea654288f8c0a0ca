/* The guest agent (qemu-guest-agent, or the virtio-win guest tools) behind
 * [guest] agent's virtio-serial port, reached through RUN_DIR/agent.sock, QEMU's
 * end of that port (vmlaunch is its only client).
 *
 * The agent counts as up once it answered guest-sync-delimited and guest-ping after
 * the guest opened its port (QMP's VSERPORT_CHANGE), and as down when the guest
 * closes it. The sync's 0xFF delimiter throws away whatever a previous agent or a
 * timed-out command left in the channel. Commands go one at a time, in order;
 * those that never answer on success (guest-shutdown, guest-suspend-*) are answered
 * once they are sent. Nothing here blocks: the supervisor polls the descriptor and
 * the deadlines. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct guest_agent;
struct json_object;

/* How long the agent has to answer a sync or a ping; a sync that gets no answer is
 * tried again, the wait doubling up to the cap, for as long as the port is open. */
#define GUEST_AGENT_SYNC_TIMEOUT_MS     5000
#define GUEST_AGENT_SYNC_TIMEOUT_MAX_MS 60000
/* A command's default timeout. */
#define GUEST_AGENT_COMMAND_TIMEOUT_MS 30000
/* The largest reply taken from the agent (guest-file-read of a few MiB). */
#define GUEST_AGENT_MAX_MESSAGE_BYTES (16 * 1024 * 1024)

struct guest_agent_ops {
        void *userdata;
        void (*up)(void *userdata);
        void (*down)(void *userdata);
        /* The answer to guest_agent_request(client): one JSON object line, the agent's
         * reply ({"return": ...} or {"error": ...}) or vmlaunch's {"error": "..."}. */
        void (*reply)(void *userdata, unsigned long client, const char *line);
};

/* Connects to the port's socket (QEMU is listening on it already). */
int guest_agent_open(const char *socket_path, const struct guest_agent_ops *ops,
                     struct guest_agent **agent, struct vl_error *err);

/* QMP's VSERPORT_CHANGE for the agent's port: the guest opened or closed it. */
void guest_agent_port_changed(struct guest_agent *agent, bool open, long long now_ms);

/* Queues command (a {"execute": ...} object; borrowed) for client; the answer comes
 * through ops->reply, at once when the agent is down or the command is malformed. */
void guest_agent_request(struct guest_agent *agent, unsigned long client,
                         struct json_object *command, int timeout_ms, long long now_ms);

/* Asks the guest to power off (guest-shutdown) when the agent is up; false when it
 * is not. */
bool guest_agent_shutdown(struct guest_agent *agent, long long now_ms);

bool guest_agent_is_up(const struct guest_agent *agent);

/* For the poll loop: one descriptor, dispatch after every wake-up, next deadline. */
size_t guest_agent_pollfds(const struct guest_agent *agent, struct pollfd *fds, size_t max);
void guest_agent_dispatch(struct guest_agent *agent, const struct pollfd *fds, size_t n,
                          long long now_ms);
long long guest_agent_deadline_ms(const struct guest_agent *agent);

/* Answers what is still queued with an error and closes. NULL is fine. */
void guest_agent_close(struct guest_agent *agent);
