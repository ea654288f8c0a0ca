/* Bridge networking without qemu-bridge-helper: vmlaunch opens a tap, puts it on
 * the bridge and up, and QEMU gets the descriptor. The tap is not persistent: the
 * kernel removes it (and its bridge port) when the last descriptor closes, i.e.
 * when QEMU is gone, whatever killed it. So it is no host change to journal. */
#pragma once

#include <net/if.h>
#include <stdbool.h>

#include "util/error.h"

struct bridge_tap {
        int tap_fd;   /* -1 when not open */
        int vhost_fd; /* -1 when not wanted or not available */
        char ifname[IFNAMSIZ];
};

#define BRIDGE_TAP_NONE                                                                            \
        {                                                                                          \
                .tap_fd = -1, .vhost_fd = -1                                                       \
        }

/* Opens a tap (vnet headers on, for virtio-net), gives it the bridge's MTU, adds
 * it to BRIDGE and sets it up; with want_vhost also opens /dev/vhost-net.
 * Errors name the bridge and what to check. */
int bridge_tap_open(const char *bridge, bool want_vhost, struct bridge_tap *tap,
                    struct vl_error *err);

void bridge_tap_close(struct bridge_tap *tap);
