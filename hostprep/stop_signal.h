/* Ctrl-C while the host is being prepared. vmlaunch blocks SIGINT, SIGTERM and SIGHUP
 * and reads them from a signalfd once QEMU runs; hostprep only looks at them, never
 * takes them, so the launcher still sees the signal afterwards. */
#pragma once

#include <stdbool.h>

/* True when one of the three is blocked and pending. */
bool stop_signal_pending(void);

/* A signalfd for the three (close it), readable while one is pending; -1 when none
 * could be made. */
int stop_signal_fd_open(void);
