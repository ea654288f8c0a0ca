#include "run/tcp_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int tcp_probe_init(struct tcp_probe *p, const char *host, unsigned port, struct vl_error *err)
{
        *p = (struct tcp_probe){.fd = -1, .next_ms = 0, .wait_ms = TCP_PROBE_FIRST_WAIT_MS};
        snprintf(p->label, sizeof(p->label), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
        char service[8];
        snprintf(service, sizeof(service), "%u", port);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        int r = getaddrinfo(host, service, &hints, &res);
        if (r != 0)
                return vl_error_set(err, EHOSTUNREACH, "resolve %s: %s", host, gai_strerror(r));
        memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
        p->addr_len = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
}

static void give_up_try(struct tcp_probe *p, long long now_ms)
{
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
        p->next_ms = now_ms + p->wait_ms;
        p->wait_ms =
                p->wait_ms * 2 > TCP_PROBE_MAX_WAIT_MS ? TCP_PROBE_MAX_WAIT_MS : p->wait_ms * 2;
}

static void start_try(struct tcp_probe *p, long long now_ms)
{
        p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0) {
                give_up_try(p, now_ms);
                return;
        }
        if (connect(p->fd, (struct sockaddr *)&p->addr, p->addr_len) == 0) {
                p->open = true;
        } else if (errno == EINPROGRESS) {
                p->next_ms = now_ms + TCP_PROBE_CONNECT_TIMEOUT_MS;
                return;
        } else {
                give_up_try(p, now_ms);
                return;
        }
        close(p->fd);
        p->fd = -1;
}

bool tcp_probe_step(struct tcp_probe *p, const struct pollfd *fds, size_t n, long long now_ms)
{
        if (p->open)
                return true;
        if (p->fd >= 0 && n && fds[0].revents) {
                int soerr = 0;
                socklen_t len = sizeof(soerr);
                if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && !soerr) {
                        p->open = true;
                        close(p->fd);
                        p->fd = -1;
                        return true;
                }
                give_up_try(p, now_ms);
        } else if (p->fd >= 0 && now_ms >= p->next_ms) {
                give_up_try(p, now_ms); /* no answer at all (a firewall drops it) */
        }
        if (p->fd < 0 && now_ms >= p->next_ms)
                start_try(p, now_ms);
        return p->open;
}

size_t tcp_probe_pollfds(const struct tcp_probe *p, struct pollfd *fds, size_t max)
{
        if (p->fd < 0 || !max)
                return 0;
        fds[0] = (struct pollfd){.fd = p->fd, .events = POLLOUT};
        return 1;
}

long long tcp_probe_deadline_ms(const struct tcp_probe *p)
{
        return p->open ? -1 : p->next_ms;
}

void tcp_probe_close(struct tcp_probe *p)
{
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
}
