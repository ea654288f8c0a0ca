/* Watches the GPU's group while the guest runs, for the supervisor's poll loop (no
 * timer): the kernel's log (/dev/kmsg) for a removal that waits on QEMU, and kernel
 * uevents for a function removed from the bus (run/gpu_signals.h says why these).
 * Either means the GPU is gone: the owner's `lost` callback runs once, and the
 * supervisor is asked to end the guest, which is also what lets the kernel's
 * removal finish. */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct gpu_watch;

/* Called once, with the function that went and how the host said so. */
typedef void (*gpu_watch_lost_fn)(void *userdata, const char *addr, const char *how);

/* group: the addresses of the GPU's IOMMU group (copied). Opens what it can; a source
 * that cannot be opened is skipped with a warning in the run log. Returns 0 and
 * *out, or -errno (no memory, or neither source could be opened: err says why). */
int gpu_watch_open(const char *const *group, size_t n, gpu_watch_lost_fn lost, void *userdata,
                   struct gpu_watch **out, struct vl_error *err);
void gpu_watch_close(struct gpu_watch *w);

/* The supervise_watcher callbacks (run/supervise.h); userdata is the gpu_watch. */
size_t gpu_watch_pollfds(void *userdata, struct pollfd *fds, size_t max);
void gpu_watch_dispatch(void *userdata, const struct pollfd *fds, size_t n, long long now_ms);
bool gpu_watch_stop_reason(void *userdata, char *why, size_t len);
