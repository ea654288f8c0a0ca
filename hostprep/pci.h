/* PCI facts read from sysfs (through the sysroot): IOMMU groups, bound drivers,
 * the module behind a driver, device classes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define PCI_ADDR_LEN 16 /* "0000:06:00.0" + NUL */
#define PCI_NAME_LEN 64

struct pci_device {
        char addr[PCI_ADDR_LEN];
        unsigned class_code;         /* 24-bit class, e.g. 0x030000 */
        char driver[PCI_NAME_LEN];   /* "" when unbound */
        char module[PCI_NAME_LEN];   /* module of that driver; "" when built in or unbound */
        char override[PCI_NAME_LEN]; /* driver_override; "" when "(null)" */
};

struct pci_group {
        char id[16]; /* IOMMU group number */
        struct pci_device *devices;
        size_t count;
};

/* Reads one device. Returns -ENOENT with a message when it does not exist. */
int pci_device_read(const char *addr, struct pci_device *dev, struct vl_error *err);
/* The IOMMU group of addr with every member, sorted by address. */
int pci_group_read(const char *addr, struct pci_group *group, struct vl_error *err);
void pci_group_free(struct pci_group *group);

/* PCI-to-PCI bridges stay with the host: vfio-pci does not take them and the kernel
 * allows them in a group that is otherwise passed through. */
bool pci_is_bridge(const struct pci_device *dev);
/* Mass storage (class 0x01xx): the host may boot from it. */
bool pci_is_storage(const struct pci_device *dev);
/* "VGA compatible controller", "SATA controller", ... for messages. */
const char *pci_class_name(unsigned class_code);

/* Current driver of addr ("" when unbound). */
int pci_current_driver(const char *addr, char *buf, size_t len);
/* Addresses of the devices bound to a PCI driver. */
int pci_driver_devices(const char *driver, char ***addrs, size_t *count);
void pci_addrs_free(char **addrs, size_t count);
/* The module that provides a PCI driver ("xhci_hcd" -> "xhci_pci"), "" if built in. */
int pci_driver_module(const char *driver, char *buf, size_t len);
bool pci_addr_is_valid(const char *s);
