/* Which framebuffer (/dev/fbN) fbcon draws the VT consoles on, and whether it belongs
 * to the GPU's IOMMU group: only then must the VT consoles let go of it. */
#pragma once

#include <stdbool.h>

struct vm_def;

struct fbcon_place {
        /* fbcon draws on a framebuffer of the group, or we cannot tell where it draws */
        bool on_gpu;
        /* "fbcon draws on fb0 (simpledrm on another card)" */
        char why[512];
};

/* Pure reads of /sys/class/graphics, /proc/cmdline, /proc/iomem and the group's BARs.
 * Returns 0 or -ENOMEM. */
int fbcon_locate(const struct vm_def *def, struct fbcon_place *place);
