#include "launcher/wait_cond.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/event_line.h"
#include "util/macro.h"

#define WAIT_COND_CHOICES "running, stopped, agent, ready or tcp:HOST:PORT"

__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t why_len, const char *fmt,
                                                        ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* PORT: decimal digits only, 1 to 65535. */
static bool port_valid(const char *port)
{
        size_t n = strlen(port);
        if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
                return false;
        long v = strtol(port, NULL, 10);
        return v >= 1 && v <= 65535;
}

static int parse_tcp(const char *text, const char *spec, struct wait_cond *cond, char *why,
                     size_t why_len)
{
        const char *host = spec, *host_end, *port;
        if (*spec == '[') { /* [IPV6]:PORT */
                host = spec + 1;
                host_end = strchr(host, ']');
                if (!host_end)
                        return refuse(why, why_len, "'%s': no ']' after the IPv6 address", text);
                if (host_end[1] != ':')
                        return refuse(why, why_len, "'%s': no port; expected tcp:HOST:PORT", text);
                port = host_end + 2;
        } else {
                host_end = strrchr(spec, ':');
                if (!host_end)
                        return refuse(why, why_len, "'%s': no port; expected tcp:HOST:PORT", text);
                if (memchr(spec, ':', (size_t)(host_end - spec)))
                        return refuse(why, why_len,
                                      "'%s': put an IPv6 address in brackets: tcp:[ADDRESS]:PORT",
                                      text);
                port = host_end + 1;
        }
        size_t host_len = (size_t)(host_end - host);
        if (host_len == 0)
                return refuse(why, why_len, "'%s': no host; expected tcp:HOST:PORT", text);
        if (host_len >= sizeof(cond->host))
                return refuse(why, why_len, "'%s': the host name is too long", text);
        if (!*port)
                return refuse(why, why_len, "'%s': no port; expected tcp:HOST:PORT", text);
        if (!port_valid(port))
                return refuse(why, why_len, "'%s': port '%s': expected a number from 1 to 65535",
                              text, port);
        cond->kind = WAIT_TCP;
        memcpy(cond->host, host, host_len);
        cond->host[host_len] = '\0';
        snprintf(cond->port, sizeof(cond->port), "%s", port);
        return 0;
}

int wait_cond_parse(const char *text, struct wait_cond *cond, char *why, size_t why_len)
{
        static const struct {
                const char *name;
                enum wait_kind kind;
        } plain[] = {{"running", WAIT_RUNNING},
                     {"stopped", WAIT_STOPPED},
                     {"agent", WAIT_AGENT},
                     {"ready", WAIT_READY}};
        *cond = (struct wait_cond){0};
        for (size_t i = 0; i < ELEMENTSOF(plain); i++)
                if (streq(text, plain[i].name)) {
                        cond->kind = plain[i].kind;
                        return 0;
                }
        if (!strncmp(text, "tcp:", 4))
                return parse_tcp(text, text + 4, cond, why, why_len);
        return refuse(why, why_len, "'%s': unknown condition; expected %s", text,
                      WAIT_COND_CHOICES);
}

/* a equals b, a possibly NULL (a field that is not there). */
static bool field_is(const char *a, const char *b)
{
        return a && streq(a, b);
}

static bool boolean_field(struct json_object *event, const char *key)
{
        struct json_object *v;
        return json_object_object_get_ex(event, key, &v) &&
               json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

bool wait_cond_held_by(const struct wait_cond *cond, struct json_object *event)
{
        const char *name = event_name(event);
        if (!name)
                return false;
        bool hello = streq(name, "hello");
        switch (cond->kind) {
        case WAIT_RUNNING:
                return field_is(event_field(event, "state"), "running");
        case WAIT_STOPPED:
                return streq(name, "exited");
        case WAIT_AGENT:
                return streq(name, "agent-up") ||
                       (hello && field_is(event_field(event, "agent"), "up"));
        case WAIT_READY:
                return streq(name, "ready") || (hello && boolean_field(event, "ready"));
        case WAIT_TCP:
                return false;
        }
        return false;
}

bool wait_cond_probe_in_state(const char *state)
{
        return field_is(state, "running");
}
