/* Log lines of a running VM (run, supervise): one line each on stderr. Under
 * systemd, stderr is the journal and a "<N>" prefix carries the priority. */
#pragma once

#include <syslog.h>

/* priority: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG. */
void runlog(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
