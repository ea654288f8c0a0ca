/* Whether a GPU drives a monitor: the DRM card the kernel made for a PCI function
 * (/sys/class/drm/cardN, whose device link names the function) and the status of its
 * connectors (/sys/class/drm/cardN-HDMI-A-1/status: connected, disconnected or
 * unknown). A headless streaming session needs a monitor, a dummy plug, or a virtual
 * display in the guest: the GPU's own outputs are what the guest renders to. */
#pragma once

#include "util/strv.h"
#include "vmdefs/vmdef.h"

struct drm_card {
        char name[32];             /* "card0"; "" when no DRM driver is bound to it */
        struct vl_strv connectors; /* "HDMI-A-1", "DP-1", ... sorted */
        size_t n_disconnected;     /* connectors whose status is "disconnected" */
};

/* Finds the card of PCI function addr ("0000:06:00.0") through the sysroot. Returns 0
 * (card->name "" when there is none), or -ENOMEM. */
int drm_card_read(const char *addr, struct drm_card *card);
void drm_card_free(struct drm_card *card);

/* `check`: a warning on [gpu] address when the GPU has a DRM card whose connectors
 * are all disconnected. Nothing when no DRM driver is bound (already on vfio-pci).
 * Returns 0 or -ENOMEM. */
int drm_check_monitor(const struct vm_def *def, struct vmdef_diags *diags);
