#include "run/readiness.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "run/runlog.h"
#include "util/macro.h"
#include "util/notify.h"

#define NO_DEADLINE (-1LL)

static void become_ready(struct readiness *r, const char *what)
{
        if (r->ready)
                return;
        r->ready = true;
        r->timeout_at_ms = NO_DEADLINE;
        r->ask_address_at_ms = NO_DEADLINE;
        tcp_probe_free(&r->probe);
        r->probing = false;
        runlog(LOG_NOTICE, "session %s is ready (%s)", r->def->name, what);
        session_set_ready(r->session);
        vl_notifyf("READY=1\nSTATUS=Guest %s ready (%s)", r->def->name, what);
}

static void start_probe(struct readiness *r, const char *host, long long now_ms)
{
        struct vl_error err = {0};
        char port[8];
        snprintf(port, sizeof(port), "%u", r->def->ready_port);
        if (tcp_probe_init(&r->probe, host, port, &err) < 0) {
                runlog(LOG_WARNING, "[session] ready: %s; trying again later", err.msg);
                r->ask_address_at_ms = now_ms + READINESS_ADDRESS_RETRY_MS;
                return;
        }
        r->probing = true;
        runlog(LOG_INFO, "waiting for %s to accept connections", r->probe.label);
        (void)tcp_probe_step(&r->probe, NULL, 0, now_ms);
        if (r->probe.open)
                become_ready(r, r->probe.label);
}

void readiness_start(struct readiness *r, long long now_ms)
{
        r->timeout_at_ms = NO_DEADLINE;
        r->ask_address_at_ms = NO_DEADLINE;
        r->probe = (struct tcp_probe){.fd = -1};
        if (r->def->ready == VMDEF_READY_RUNNING) {
                become_ready(r, "the guest runs");
                return;
        }
        if (r->def->ready_timeout_s)
                r->timeout_at_ms = now_ms + (long long)r->def->ready_timeout_s * 1000;
        vl_notifyf("STATUS=Guest %s running, waiting for %s", r->def->name,
                   r->def->ready == VMDEF_READY_AGENT ? "its agent" : "its TCP port");
        if (r->def->ready == VMDEF_READY_TCP && r->def->ready_host)
                start_probe(r, r->def->ready_host, now_ms);
}

void readiness_agent_up(struct readiness *r, long long now_ms)
{
        if (r->ready)
                return;
        if (r->def->ready == VMDEF_READY_AGENT)
                become_ready(r, "the guest agent answers");
        else if (r->def->ready == VMDEF_READY_TCP && !r->def->ready_host && !r->probing)
                r->ask_interfaces(r->userdata);
        (void)now_ms;
}

bool readiness_pick_address(const char *reply, char *buf, size_t len)
{
        struct json_object *o = json_tokener_parse(reply), *ifaces = NULL;
        bool found = false;
        char v6[INET6_ADDRSTRLEN] = "";
        if (o && json_object_object_get_ex(o, "return", &ifaces) &&
            json_object_is_type(ifaces, json_type_array)) {
                for (size_t i = 0; !found && i < json_object_array_length(ifaces); i++) {
                        struct json_object *iface = json_object_array_get_idx(ifaces, i), *addrs;
                        if (!json_object_object_get_ex(iface, "ip-addresses", &addrs))
                                continue;
                        for (size_t j = 0; !found && j < json_object_array_length(addrs); j++) {
                                struct json_object *a = json_object_array_get_idx(addrs, j), *t,
                                                   *ip;
                                if (!json_object_object_get_ex(a, "ip-address-type", &t) ||
                                    !json_object_object_get_ex(a, "ip-address", &ip))
                                        continue;
                                const char *type = json_object_get_string(t);
                                const char *addr = json_object_get_string(ip);
                                struct in_addr in4;
                                struct in6_addr in6;
                                if (streq(type, "ipv4") && inet_pton(AF_INET, addr, &in4) == 1) {
                                        uint32_t h = ntohl(in4.s_addr);
                                        if ((h >> 24) == 127 || (h >> 16) == 0xa9fe)
                                                continue; /* loopback, link-local */
                                        snprintf(buf, len, "%s", addr);
                                        found = true;
                                } else if (streq(type, "ipv6") && !*v6 &&
                                           inet_pton(AF_INET6, addr, &in6) == 1 &&
                                           !IN6_IS_ADDR_LOOPBACK(&in6) &&
                                           !IN6_IS_ADDR_LINKLOCAL(&in6)) {
                                        snprintf(v6, sizeof(v6), "%s", addr);
                                }
                        }
                }
        }
        json_object_put(o);
        if (!found && *v6) {
                snprintf(buf, len, "%s", v6);
                found = true;
        }
        return found;
}

void readiness_interfaces(struct readiness *r, const char *reply, long long now_ms)
{
        if (r->ready || r->probing)
                return;
        char addr[INET6_ADDRSTRLEN];
        if (!readiness_pick_address(reply, addr, sizeof(addr))) {
                r->ask_address_at_ms = now_ms + READINESS_ADDRESS_RETRY_MS;
                return;
        }
        runlog(LOG_INFO, "the guest agent reports the guest's address %s", addr);
        start_probe(r, addr, now_ms);
}

size_t readiness_pollfds(void *userdata, struct pollfd *fds, size_t max)
{
        struct readiness *r = userdata;
        return r->probing ? tcp_probe_pollfds(&r->probe, fds, max) : 0;
}

void readiness_dispatch(void *userdata, const struct pollfd *fds, size_t n, long long now_ms)
{
        struct readiness *r = userdata;
        if (r->ready || r->timed_out)
                return;
        if (r->probing && tcp_probe_step(&r->probe, fds, n, now_ms)) {
                become_ready(r, r->probe.label);
                return;
        }
        if (r->ask_address_at_ms != NO_DEADLINE && now_ms >= r->ask_address_at_ms) {
                r->ask_address_at_ms = NO_DEADLINE;
                if (r->def->ready_host) /* it did not resolve: try the name again */
                        start_probe(r, r->def->ready_host, now_ms);
                else
                        r->ask_interfaces(r->userdata);
        }
        if (r->timeout_at_ms != NO_DEADLINE && now_ms >= r->timeout_at_ms) {
                r->timed_out = true;
                tcp_probe_free(&r->probe);
                r->probing = false;
                runlog(LOG_ERR,
                       "[session] ready: the session was not ready %u s after the guest started; stopping it",
                       r->def->ready_timeout_s);
                /* The same path as `vmlaunch stop`: the supervisor reads it from its
                 * signalfd (SIGTERM is blocked, so it stays pending until then). */
                raise(SIGTERM);
        }
}

long long readiness_deadline_ms(void *userdata)
{
        struct readiness *r = userdata;
        if (r->ready || r->timed_out)
                return NO_DEADLINE;
        long long next = r->timeout_at_ms;
        long long others[] = {r->ask_address_at_ms,
                              r->probing ? tcp_probe_deadline_ms(&r->probe) : NO_DEADLINE};
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                if (others[i] != NO_DEADLINE && (next == NO_DEADLINE || others[i] < next))
                        next = others[i];
        return next;
}

void readiness_close(struct readiness *r)
{
        tcp_probe_free(&r->probe);
}
