#include "hostprep/firmware_fb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "hostprep/iomem.h"
#include "hostprep/pci.h"
#include "vmdefs/vmdef.h"
#include "util/array.h"

/* The memory BARs of the devices passed through: the GPU's IOMMU group, or the GPU
 * alone when the group cannot be read. */
static int group_bars(const struct vm_def *def, struct mem_ranges *bars, char *who, size_t len)
{
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        snprintf(who, len, "%s", addr);
        *bars = (struct mem_ranges){0};
        struct pci_group g = {0};
        struct vl_error ignored;
        bool have_group = pci_group_read(addr, &g, &ignored) == 0;
        size_t n = have_group ? g.count : 1;
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                const char *dev = have_group ? g.devices[i].addr : addr;
                struct mem_ranges one;
                if (pci_memory_bars(dev, &one) < 0)
                        continue;
                for (size_t j = 0; j < one.count && r == 0; j++) {
                        if (VL_ARRAY_GROW(bars->items, bars->cap, bars->count) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        struct mem_range *more = bars->items;
                        more[bars->count] = one.items[j];
                        /* "BAR 1 of 0000:06:00.0" */
                        snprintf(more[bars->count].name, sizeof(more->name), "%.16s of %.16s",
                                 one.items[j].name, dev);
                        bars->count++;
                }
                mem_ranges_free(&one);
        }
        if (have_group)
                pci_group_free(&g);
        if (r < 0)
                mem_ranges_free(bars);
        return r;
}

/* A framebuffer on another card (the iGPU) stays with the host; when the memory
 * cannot be found, assume it is on the GPU. */
int firmware_fb_locate(const struct vm_def *def, struct firmware_fb_place *place)
{
        struct mem_ranges fbs, bars;
        char who[16];
        int r = iomem_framebuffers(&fbs);
        if (r == 0)
                r = group_bars(def, &bars, who, sizeof(who));
        if (r < 0) {
                mem_ranges_free(&fbs);
                return r;
        }
        place->on_gpu = true;
        place->why[0] = '\0';
        if (fbs.count == 0)
                snprintf(place->why, sizeof(place->why),
                         "/proc/iomem does not show where its memory is, so it may be on the GPU");
        else if (bars.count == 0)
                snprintf(place->why, sizeof(place->why),
                         "the BARs of %s cannot be read, so its memory may be on them", who);
        for (size_t i = 0; i < fbs.count && bars.count; i++)
                for (size_t j = 0; j < bars.count; j++) {
                        if (!mem_ranges_overlap(&fbs.items[i], &bars.items[j]))
                                continue;
                        snprintf(place->why, sizeof(place->why),
                                 "its memory %" PRIx64 "-%" PRIx64 " (%s in /proc/iomem) is in %s",
                                 fbs.items[i].start, fbs.items[i].end, fbs.items[i].name,
                                 bars.items[j].name);
                        goto done;
                }
        if (fbs.count && bars.count) {
                place->on_gpu = false;
                snprintf(
                        place->why, sizeof(place->why),
                        "its memory %" PRIx64 "-%" PRIx64
                        " (%s in /proc/iomem) is on another card, outside the BARs of %s's IOMMU group",
                        fbs.items[0].start, fbs.items[0].end, fbs.items[0].name, who);
        }
done:
        mem_ranges_free(&fbs);
        mem_ranges_free(&bars);
        return 0;
}
