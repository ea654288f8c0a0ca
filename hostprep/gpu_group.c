/* The GPU's IOMMU group as QEMU must see it: every endpoint of the group (bridges
 * stay with the host), the [gpu] address first, read from sysfs through the sysroot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/hostprep.h"
#include "hostprep/pci.h"
#include "vmdefs/vmdef.h"
#include "util/macro.h"

int hostprep_gpu_group(const struct vm_def *def, struct vmdef_pci_addr **members, size_t *n,
                       struct vl_error *err)
{
        *members = NULL;
        *n = 0;
        if (!def->has_gpu)
                return 0;
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        struct pci_group g;
        int r = pci_group_read(addr, &g, err);
        if (r < 0)
                return r;
        struct vmdef_pci_addr *out = calloc(g.count ? g.count : 1, sizeof(*out));
        if (!out) {
                pci_group_free(&g);
                return vl_error_set(err, ENOMEM, "IOMMU group %s", g.id);
        }
        size_t count = 1;
        out[0] = def->gpu_address;
        for (size_t i = 0; i < g.count; i++) {
                const struct pci_device *d = &g.devices[i];
                if (pci_is_bridge(d) || streq(d->addr, addr))
                        continue;
                char why[128];
                if (vmdef_parse_pci_addr(d->addr, &out[count], why, sizeof(why)) < 0) {
                        r = vl_error_set(err, EINVAL, "IOMMU group %s: %s: %s", g.id, d->addr, why);
                        break;
                }
                count++;
        }
        pci_group_free(&g);
        if (r < 0) {
                free(out);
                return r;
        }
        *members = out;
        *n = count;
        return 0;
}
