/* Physical memory ranges: who holds what in /proc/iomem, and a PCI device's BARs
 * (/sys/bus/pci/devices/ADDR/resource), read through the sysroot. Used to tell
 * whether a firmware framebuffer scans out of the passed-through GPU's memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mem_range {
        uint64_t start, end; /* inclusive, as the kernel prints them */
        char name[64];       /* iomem: the holder ("efifb"); BAR: "BAR 1" */
};

struct mem_ranges {
        struct mem_range *items;
        size_t count;
        size_t cap; /* allocated items */
};

/* The /proc/iomem entries a firmware framebuffer registers (efifb, vesafb, BOOTFB,
 * simple-framebuffer, simplefb, simpledrm), at any nesting depth. Entries that read
 * as 00000000-00000000 (an unprivileged reader sees no addresses) are skipped.
 * A missing /proc/iomem yields no ranges. Returns 0 or -ENOMEM. */
int iomem_framebuffers(struct mem_ranges *out);
/* The memory BARs of a PCI device (I/O port BARs and unused ones skipped).
 * Returns 0, or -errno when the resource file cannot be read. */
int pci_memory_bars(const char *addr, struct mem_ranges *out);
void mem_ranges_free(struct mem_ranges *r);
bool mem_ranges_overlap(const struct mem_range *a, const struct mem_range *b);
