#include "hostprep/pci.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/sysroot.h"
#include "util/cleanup.h"
#include "util/array.h"
#include "util/macro.h"

bool pci_addr_is_valid(const char *s)
{
        unsigned d, b, sl, f;
        char tail;
        return strlen(s) == 12 && sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &sl, &f, &tail) == 4;
}

bool pci_is_bridge(const struct pci_device *dev)
{
        return (dev->class_code >> 8) == 0x0604;
}

bool pci_is_storage(const struct pci_device *dev)
{
        return (dev->class_code >> 16) == 0x01;
}

const char *pci_class_name(unsigned class_code)
{
        static const struct {
                unsigned class16;
                const char *name;
        } names[] = {
                {0x0100, "SCSI storage controller"},
                {0x0101, "IDE interface"},
                {0x0104, "RAID bus controller"},
                {0x0106, "SATA controller"},
                {0x0107, "SAS controller"},
                {0x0108, "Non-Volatile memory controller"},
                {0x0200, "Ethernet controller"},
                {0x0280, "Network controller"},
                {0x0300, "VGA compatible controller"},
                {0x0302, "3D controller"},
                {0x0380, "Display controller"},
                {0x0401, "Multimedia audio controller"},
                {0x0403, "Audio device"},
                {0x0600, "Host bridge"},
                {0x0604, "PCI bridge"},
                {0x0c03, "USB controller"},
                {0x0c05, "SMBus"},
                {0x0c80, "Serial bus controller"},
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i].class16 == class_code >> 8)
                        return names[i].name;
        if ((class_code >> 16) == 0x01)
                return "Mass storage controller";
        return "PCI device";
}

int pci_current_driver(const char *addr, char *buf, size_t len)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
        int r = sysroot_link_basename(path, buf, len);
        if (r == -ENOENT) {
                buf[0] = '\0';
                return 0;
        }
        return r;
}

int pci_driver_module(const char *driver, char *buf, size_t len)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/module", driver);
        int r = sysroot_link_basename(path, buf, len);
        if (r == -ENOENT) { /* built into the kernel: nothing to unload */
                buf[0] = '\0';
                return 0;
        }
        return r;
}

int pci_device_read(const char *addr, struct pci_device *dev, struct vl_error *err)
{
        *dev = (struct pci_device){0};
        snprintf(dev->addr, sizeof(dev->addr), "%s", addr);
        char path[PATH_MAX], line[128];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", addr);
        int r = sysroot_read_line(path, line, sizeof(line));
        if (r < 0)
                return vl_error_set(
                        err, -r,
                        "PCI device %s: cannot read %s (is the address right? see `lspci -D`)",
                        addr, path);
        dev->class_code = (unsigned)strtoul(line, NULL, 16);
        r = pci_current_driver(addr, dev->driver, sizeof(dev->driver));
        if (r == 0 && dev->driver[0])
                r = pci_driver_module(dev->driver, dev->module, sizeof(dev->module));
        if (r < 0)
                return vl_error_set(err, -r, "PCI device %s: reading its driver", addr);
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", addr);
        if (sysroot_read_line(path, line, sizeof(line)) == 0 && strcmp(line, "(null)") != 0)
                snprintf(dev->override, sizeof(dev->override), "%.*s",
                         (int)sizeof(dev->override) - 1, line);
        return 0;
}

static int addr_cmp(const void *a, const void *b)
{
        return strcmp(((const struct pci_device *)a)->addr, ((const struct pci_device *)b)->addr);
}

void pci_group_free(struct pci_group *group)
{
        free(group->devices);
        *group = (struct pci_group){0};
}

/* Lists the PCI addresses in a sysfs directory (a group's devices/, a driver's folder). */
static int list_addrs(const char *dir, char ***addrs, size_t *count)
{
        *addrs = NULL;
        *count = 0;
        char full[PATH_MAX];
        int r = sysroot_path(full, sizeof(full), "%s", dir);
        if (r < 0)
                return r;
        DIR *d = opendir(full);
        if (!d)
                return -errno;
        struct dirent *de;
        size_t cap = 0;
        r = 0;
        while ((de = readdir(d))) {
                if (!pci_addr_is_valid(de->d_name))
                        continue;
                if (VL_ARRAY_GROW(*addrs, cap, *count) < 0 ||
                    !((*addrs)[*count] = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                (*count)++;
        }
        closedir(d);
        if (r < 0) {
                pci_addrs_free(*addrs, *count);
                *addrs = NULL;
                *count = 0;
        }
        return r;
}

void pci_addrs_free(char **addrs, size_t count)
{
        for (size_t i = 0; i < count; i++)
                free(addrs[i]);
        free(addrs);
}

int pci_driver_devices(const char *driver, char ***addrs, size_t *count)
{
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "/sys/bus/pci/drivers/%s", driver);
        int r = list_addrs(dir, addrs, count);
        return r == -ENOENT ? 0 : r;
}

int pci_group_read(const char *addr, struct pci_group *group, struct vl_error *err)
{
        *group = (struct pci_group){0};
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
        if (!sysroot_exists(path))
                return vl_error_set(
                        err, ENOENT,
                        "[gpu] address %s: no such PCI device on this host (see `lspci -D`)", addr);
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
        int r = sysroot_link_basename(path, group->id, sizeof(group->id));
        if (r < 0)
                return vl_error_set(
                        err, -r,
                        "%s has no IOMMU group: the IOMMU is off; enable VT-d/AMD-Vi in the firmware and boot with intel_iommu=on (Intel) or amd_iommu=on iommu=pt",
                        addr);
        char **addrs = NULL;
        size_t count = 0;
        snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/devices", group->id);
        r = list_addrs(path, &addrs, &count);
        if (r < 0)
                return vl_error_set(err, -r, "list %s", path);
        group->devices = calloc(count ? count : 1, sizeof(*group->devices));
        if (!group->devices) {
                pci_addrs_free(addrs, count);
                return vl_error_set(err, ENOMEM, "IOMMU group %s", group->id);
        }
        for (size_t i = 0; i < count && r == 0; i++) {
                r = pci_device_read(addrs[i], &group->devices[i], err);
                group->count++;
        }
        pci_addrs_free(addrs, count);
        if (r < 0) {
                pci_group_free(group);
                return r;
        }
        qsort(group->devices, group->count, sizeof(*group->devices), addr_cmp);
        return 0;
}
