/* What the guest's platform is told beyond its devices: SMBIOS strings copied from
 * the host, the 64-bit PCI window OVMF opens for large BARs, the PIT and ACPI sleep
 * defaults of a Windows guest. Pure; the host facts are read in run/host_facts.c. */
#pragma once

#include <stdint.h>

/* One SMBIOS string QEMU can set (-smbios type=T,KEY=...) and the file of
 * /sys/class/dmi/id the kernel shows the host's value in. */
struct qemu_smbios_field {
        const char *dmi_file;
        unsigned type;
        const char *key;
};

#define QEMU_SMBIOS_N_FIELDS 19
/* Types 0 (BIOS), 1 (system), 2 (baseboard), 3 (chassis), in that order. */
extern const struct qemu_smbios_field qemu_smbios_fields[QEMU_SMBIOS_N_FIELDS];

/* OVMF's 64-bit PCI window when nothing says otherwise: PcdPciMmio64Size. */
#define QEMU_OVMF_MMIO64_DEFAULT_BYTES (32ULL << 30)

/* The size in MiB to pass as opt/ovmf/X-PciMmio64Mb for 64-bit BARs summing to
 * bar64_bytes, or 0 when OVMF's default window already holds them. */
uint64_t qemu_pci_mmio64_mb(uint64_t bar64_bytes);
