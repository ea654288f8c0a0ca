#include "hostprep/iomem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostprep/sysroot.h"
#include "util/array.h"
#include "util/macro.h"

/* IORESOURCE_MEM in include/linux/ioport.h: the BAR decodes memory, not I/O ports */
#define IORESOURCE_MEM 0x00000200

static const char *const fb_names[] = {"efifb",    "vesafb",   "BOOTFB", "simple-framebuffer",
                                       "simplefb", "simpledrm"};

static int push(struct mem_ranges *out, uint64_t start, uint64_t end, const char *name)
{
        if (VL_ARRAY_GROW(out->items, out->cap, out->count) < 0)
                return -ENOMEM;
        struct mem_range *r = &out->items[out->count++];
        r->start = start;
        r->end = end;
        snprintf(r->name, sizeof(r->name), "%s", name);
        return 0;
}

static bool is_fb_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(fb_names); i++)
                if (!strcasecmp(name, fb_names[i]))
                        return true;
        return false;
}

int iomem_framebuffers(struct mem_ranges *out)
{
        *out = (struct mem_ranges){0};
        char *text = NULL;
        if (sysroot_read_file("/proc/iomem", &text) < 0)
                return 0;
        int r = 0;
        char *save = NULL;
        /* "    c0000000-c02fffff : efifb" (indentation = nesting) */
        for (char *line = strtok_r(text, "\n", &save); line && r == 0;
             line = strtok_r(NULL, "\n", &save)) {
                uint64_t start, end;
                char name[64];
                if (sscanf(line, " %" SCNx64 "-%" SCNx64 " : %63[^\n]", &start, &end, name) != 3)
                        continue;
                name[strcspn(name, "\r")] = '\0';
                if (is_fb_name(name) && end > start)
                        r = push(out, start, end, name);
        }
        free(text);
        if (r < 0)
                mem_ranges_free(out);
        return r;
}

int pci_memory_bars(const char *addr, struct mem_ranges *out)
{
        *out = (struct mem_ranges){0};
        char path[128], *text = NULL;
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", addr);
        int r = sysroot_read_file(path, &text);
        if (r < 0)
                return r;
        char *save = NULL;
        unsigned index = 0;
        /* one line per resource: "0x00000000c0000000 0x00000000cfffffff 0x000000000014220c";
         * lines 0-5 are the BARs, 6 the expansion ROM */
        for (char *line = strtok_r(text, "\n", &save); line && r == 0 && index < 6;
             line = strtok_r(NULL, "\n", &save), index++) {
                uint64_t start, end, flags;
                if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64, &start, &end, &flags) != 3)
                        continue;
                if (!(flags & IORESOURCE_MEM) || end <= start)
                        continue;
                char name[16];
                snprintf(name, sizeof(name), "BAR %u", index);
                r = push(out, start, end, name);
        }
        free(text);
        if (r < 0)
                mem_ranges_free(out);
        return r;
}

void mem_ranges_free(struct mem_ranges *r)
{
        free(r->items);
        *r = (struct mem_ranges){0};
}

bool mem_ranges_overlap(const struct mem_range *a, const struct mem_range *b)
{
        return a->start <= b->end && b->start <= a->end;
}
