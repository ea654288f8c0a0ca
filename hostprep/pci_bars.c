/* The memory BARs of PCI functions as the kernel shows them in sysfs: `resource` has
 * one "start end flags" line per region (BARs 0-5, then the ROM and bridge windows;
 * Documentation/PCI/sysfs-pci.rst), and `resourceN_resize` exists for a BAR the device
 * can resize (Resizable BAR, Linux 5.15+). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/hostprep.h"
#include "hostprep/sysroot.h"
#include "util/cleanup.h"

/* include/linux/ioport.h */
#define IORESOURCE_MEM      0x00000200UL
#define IORESOURCE_PREFETCH 0x00002000UL
#define IORESOURCE_MEM_64   0x00100000UL

int hostprep_pci_bars_parse(const char *resource, struct hostprep_pci_bars *out)
{
        *out = (struct hostprep_pci_bars){0};
        const char *p = resource;
        for (unsigned bar = 0; bar < HOSTPREP_PCI_BARS && p && *p; bar++) {
                unsigned long long start, end, flags;
                if (sscanf(p, "%llx %llx %llx", &start, &end, &flags) != 3)
                        return -EINVAL;
                if (end > start)
                        out->bytes[bar] = end - start + 1;
                unsigned long need = IORESOURCE_MEM | IORESOURCE_PREFETCH | IORESOURCE_MEM_64;
                if (out->bytes[bar] && (flags & need) == need) {
                        out->mem64_prefetch |= 1u << bar;
                        out->mem64_prefetch_bytes += out->bytes[bar];
                }
                p = strchr(p, '\n');
                p = p ? p + 1 : NULL;
        }
        return 0;
}

int hostprep_pci_bars_read(const char *addr, struct hostprep_pci_bars *out)
{
        char path[256]; /* the sysroot helpers add the root */
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", addr);
        int r = sysroot_read_file(path, &text);
        if (r < 0)
                return r;
        r = hostprep_pci_bars_parse(text, out);
        if (r < 0)
                return r;
        for (unsigned bar = 0; bar < HOSTPREP_PCI_BARS; bar++) {
                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%u_resize", addr,
                         bar);
                if (sysroot_exists(path))
                        out->resizable |= 1u << bar;
        }
        return 0;
}
