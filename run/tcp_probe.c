#include "run/tcp_probe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tcp_probe_init(struct tcp_probe *p, const char *host, const char *port, struct vl_error *err)
{
        *p = (struct tcp_probe){.fd = -1, .next_ms = 0, .wait_ms = TCP_PROBE_FIRST_WAIT_MS};
        snprintf(p->label, sizeof(p->label), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
        int r = getaddrinfo(host, port, &hints, &p->addrs);
        if (r == EAI_NONAME) {
                hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
                r = getaddrinfo(host, port, &hints, &p->addrs);
        }
        if (r != 0) {
                p->addrs = NULL;
                return vl_error_set_plain(err, EHOSTUNREACH, "cannot resolve '%s': %s", host,
                                          r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
        }
        return 0;
}

void tcp_probe_pause(struct tcp_probe *p)
{
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
}

static void try_later(struct tcp_probe *p, long long now_ms)
{
        tcp_probe_pause(p);
        p->next_ms = now_ms + p->wait_ms;
        p->wait_ms =
                p->wait_ms * 2 > TCP_PROBE_MAX_WAIT_MS ? TCP_PROBE_MAX_WAIT_MS : p->wait_ms * 2;
}

/* A connect to the next address in turn. */
static void start_try(struct tcp_probe *p, long long now_ms)
{
        const struct addrinfo *ai = p->next_addr ? p->next_addr : p->addrs;
        p->next_addr = ai->ai_next;
        p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd >= 0 && connect(p->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                p->open = true;
                tcp_probe_pause(p);
        } else if (p->fd >= 0 && errno == EINPROGRESS) {
                p->next_ms = now_ms + TCP_PROBE_CONNECT_TIMEOUT_MS;
        } else {
                try_later(p, now_ms);
        }
}

bool tcp_probe_step(struct tcp_probe *p, const struct pollfd *fds, size_t n, long long now_ms)
{
        if (p->open || !p->addrs)
                return p->open;
        if (p->fd >= 0 && fds && n && fds[0].fd == p->fd && fds[0].revents) {
                int error = 0;
                socklen_t len = sizeof(error);
                if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && !error) {
                        p->open = true;
                        tcp_probe_pause(p);
                        return true;
                }
                try_later(p, now_ms);
        } else if (p->fd >= 0 && now_ms >= p->next_ms) {
                try_later(p, now_ms); /* no answer at all */
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
        return p->open || !p->addrs ? -1 : p->next_ms;
}

void tcp_probe_free(struct tcp_probe *p)
{
        tcp_probe_pause(p);
        if (p->addrs)
                freeaddrinfo(p->addrs);
        p->addrs = p->next_addr = NULL;
}
