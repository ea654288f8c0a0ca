/* How a GPU's functions reset, for `check` and the reset_method step.
 *
 * The kernel lists the methods it will try, in order, in each function's reset_method
 * (Linux 5.15+: device_specific, acpi, flr, af_flr, pm, bus, cxl_bus; empty: none).
 * FLR is read from config space: PCIe Device Capabilities bit 28, or the Advanced
 * Features capability. Some AMD GPUs advertise resets that leave them hung (the "AMD
 * reset bug": Polaris, Vega, Navi 10/12/14); the out-of-tree vendor-reset module
 * (https://github.com/gnif/vendor-reset) resets them through the kernel's
 * device_specific method, which is used when reset_method lists it first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct vm_def;
struct vl_strv;

struct hostprep_reset_info {
        char addr[16];
        unsigned vendor, device, class_code;
        bool config_ok;                  /* the config header could be read */
        bool has_method_file;            /* reset_method exists (Linux 5.15+) */
        char methods[128];               /* its text: "flr bus", "" for none */
        bool flr;                        /* Function Level Reset advertised (PCIe or AF) */
        const char *vendor_reset_family; /* "AMD Navi 10" when vendor-reset knows it */
};

struct hostprep_vendor_reset {
        bool installed; /* vendor-reset.ko in this kernel's modules.dep */
        bool loaded;    /* /sys/module/vendor_reset */
};

/* The family of a device vendor-reset supports, or NULL (pure). */
const char *hostprep_vendor_reset_family(unsigned vendor, unsigned device);
/* Reads addr's reset facts through the sysroot. Returns 0 or -errno (no device). */
int hostprep_reset_info_read(const char *addr, struct hostprep_reset_info *out);
void hostprep_vendor_reset_read(struct hostprep_vendor_reset *out);

/* What [gpu] reset_method = auto writes for this function: "device_specific" when
 * vendor-reset knows the card and is loaded, NULL to leave the kernel's list alone. */
const char *hostprep_reset_auto(const struct hostprep_reset_info *info,
                                const struct hostprep_vendor_reset *vr);

/* One line saying how the function resets ("0000:06:00.0 (10de:1f08): resets by flr
 * bus; FLR advertised"). */
void hostprep_reset_describe(const struct hostprep_reset_info *info, char *buf, size_t len);
/* A warning saying what will happen after the VM and how to fix it, given the
 * definition's [gpu] reset_method (NULL: unset). Returns false when there is nothing
 * to warn about. */
bool hostprep_reset_advice(const struct hostprep_reset_info *info,
                           const struct hostprep_vendor_reset *vr, const char *configured,
                           char *buf, size_t len);

/* Reset facts of every endpoint of def's GPU group, GPU first: *infos malloc'd.
 * Returns 0 (n = 0 without a GPU or a readable group) or -ENOMEM. */
int hostprep_reset_infos(const struct vm_def *def, struct hostprep_reset_info **infos, size_t *n);
