/* Is a PCI function that a VM just used fit to go back to its host driver?
 *
 * A GPU that did not reset (the AMD reset bug) or fell off the bus answers config
 * reads with all ones (0xffff: no device answered the read, PCIe 5.0 2.3.2), or keeps
 * a link trained to width 0. Binding amdgpu or nvidia to it can hang the kernel, so
 * the give-back checks first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PCI_CONFIG_HEADER_LEN 64
#define PCI_CONFIG_LEN        256 /* the conventional space, where the capability list is */
#define PCI_CAP_ID_PM         0x01
#define PCI_CAP_ID_EXP        0x10 /* PCI Express */
#define PCI_CAP_ID_AF         0x13 /* Advanced Features (conventional PCI FLR) */

/* The offset of capability id in config space, 0 when absent (pure; the list is
 * followed for at most 48 entries, so a looping list ends). */
unsigned pci_config_find_cap(const uint8_t *config, size_t len, unsigned id);
/* The PCIe device/port type (PCIe capability register bits 7:4), -1 without one:
 * 0 endpoint, 1 legacy endpoint, 9 root complex integrated endpoint. */
int pci_config_pcie_type(const uint8_t *config, size_t len);

/* Judges config space and the link (pure). config: what reading the `config` file gave
 * (len bytes); link_width: current_link_width's text, NULL when the function has no
 * PCIe link attributes; it counts only for an endpoint with a link of its own (a root
 * complex integrated endpoint has none and reads x0). Returns true when healthy;
 * otherwise why says what is wrong. */
bool gpu_health_judge(const uint8_t *config, size_t len, const char *link_width, char *why,
                      size_t why_len);

/* Reads addr's config space and link through the sysroot and judges them. A function
 * gone from /sys/bus/pci is unhealthy ("gone from the PCI bus"). */
bool gpu_health_check(const char *addr, char *why, size_t why_len);

/* Reads up to len bytes of addr's config space. Returns the count or -errno. */
ssize_t pci_config_read(const char *addr, uint8_t *buf, size_t len);
