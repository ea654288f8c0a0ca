/* What the kernel says when a function of the VM's GPU leaves the host while the guest
 * holds it (pure parsers).
 *
 * Removing a device bound to vfio-pci (sysfs `remove`, a surprise removal or a link
 * that drops under pciehp, an unbind) waits in the kernel until its user lets go.
 * Meanwhile vfio_pci_core_request() relays a "device request" to that user (QEMU) and
 * logs "vfio-pci ADDR: Relaying device request to user (#N)" (every 10th request; the
 * first is #0), or "No device request channel registered, blocked until released by
 * user" when the user registered none. QEMU 7.2 answers the request with a hot-unplug
 * (hw/vfio/pci.c: vfio_req_notifier_handler -> qdev_unplug) that only a cooperating
 * guest completes, and sends no QMP event for it: the log record is the host's one
 * word while it waits. Once the device is let go it is removed, and the kernel sends a
 * "remove" uevent for it (NETLINK_KOBJECT_UEVENT). */
#pragma once

#include <stddef.h>

/* The function of group (its "0000:00:02.0" addresses) that one /dev/kmsg record
 * ("PRI,SEQ,TS,FLAGS;TEXT\n KEY=VALUE\n...", as one read() returns it) says the host
 * is taking away, or NULL. */
const char *gpu_signal_kmsg(const char *record, size_t len, const char *const *group, size_t n);

/* The function of group that a kernel uevent ("ACTION@DEVPATH\0KEY=VALUE\0...")
 * removes from the PCI bus, or NULL. */
const char *gpu_signal_uevent(const char *msg, size_t len, const char *const *group, size_t n);
