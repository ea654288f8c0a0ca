/* Readiness and status for a service manager, as sd_notify(3) sends them: one
 * datagram with the state string to the AF_UNIX socket named in $NOTIFY_SOCKET
 * (a path, or "@name" in Linux's abstract namespace). The protocol is part of
 * systemd's interface stability promise; sending it here keeps libsystemd, and
 * the libraries it links, out of every run. */
#pragma once

/* Sends state ("READY=1\nSTATUS=..."), leaving $NOTIFY_SOCKET set (sd_notify with
 * unset_environment 0). Returns 1 when sent, 0 when no service manager listens
 * ($NOTIFY_SOCKET unset or empty), or a negative errno. */
int vl_notify(const char *state);
int vl_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
