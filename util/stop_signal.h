/* The signals that stop vmlaunch: SIGINT (Ctrl-C), SIGTERM and SIGHUP. vmlaunch blocks
 * them and reads them from a signalfd once QEMU runs; before that, host preparation
 * only looks at them, never takes them, so the supervisor still sees the signal. */
#pragma once

#include <signal.h>
#include <stdbool.h>

/* Adds the three to set. */
void vl_stop_signals_add(sigset_t *set);

/* True when one of the three is blocked and pending. */
bool vl_stop_signal_pending(void);

/* A signalfd for the three (close it), readable while one is pending; -1 when none
 * could be made. */
int vl_stop_signal_fd_open(void);
