/* Where the firmware framebuffer (efifb, simpledrm/simplefb, vesafb) scans out from:
 * the BARs of the devices passed through, or another card. The framebuffer step
 * unbinds it on this decision; the VT consoles step keeps fbcon when fbcon draws on
 * it and it is elsewhere. */
#pragma once

#include <stdbool.h>

struct vm_def;

struct firmware_fb_place {
        /* Its memory is in one of the group's BARs, or cannot be located (then it may
         * be: one left on the BARs would keep vfio-pci from claiming them). */
        bool on_gpu;
        char why[384]; /* for the plan: which memory, which BAR */
};

/* Reads /proc/iomem and the BARs of def's GPU group (the GPU alone when the group
 * cannot be read). Returns 0 or -ENOMEM. */
int firmware_fb_locate(const struct vm_def *def, struct firmware_fb_place *place);
