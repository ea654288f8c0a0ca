/* Kernel writes that can hang, run with a deadline.
 *
 * Writing to a PCI driver's unbind/bind, to drivers_probe, or removing a module runs
 * driver code in the writing thread; a buggy driver (nvidia is known for it) leaves that
 * thread in uninterruptible sleep (D state) forever, and no signal gets it out. So the
 * write happens in a forked helper process: the parent waits for its answer at most
 * timeout_ms, and on timeout reports which write hung and carries on rolling back,
 * leaving the stuck helper behind instead of hanging with it. */
#pragma once

#include <stddef.h>

#include "util/error.h"

#define DEADLINE_DEFAULT_TIMEOUT_MS 10000u

/* Writes value to the system file `path` (a /sys path; the sysroot is applied) in a
 * helper process. Returns 0, the write's -errno, or -ETIMEDOUT; err names the write. */
int deadline_write(const char *path, const char *value, unsigned timeout_ms, struct vl_error *err);

/* Runs fn(arg) in a helper process. fn returns 0 or -errno and may fill err, whose
 * message is passed back to the parent. `what` names the operation for a timeout. */
int deadline_run(const char *what, int (*fn)(void *arg, struct vl_error *err), void *arg,
                 unsigned timeout_ms, struct vl_error *err);
