/* How a GPU's functions reset: the kernel's reset_method, FLR, vendor-reset. */
#include "hostprep/gpu_reset.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/gpu_health.h"
#include "hostprep/hostprep.h"
#include "hostprep/pci.h"
#include "hostprep/sysroot.h"
#include "util/macro.h"
#include "vmdefs/vmdef.h"

#define PCI_VENDOR_AMD     0x1002
#define PCI_EXP_DEVCAP     4 /* Device Capabilities, in the PCIe capability */
#define PCI_EXP_DEVCAP_FLR (1u << 28)
#define PCI_AF_CAP         3    /* AF Capabilities, in the AF capability */
#define PCI_AF_CAP_TP_FLR  0x03 /* Transactions Pending and FLR both supported */

/* The AMD GPUs that vendor-reset resets, by its device table (src/device-db.h of
 * https://github.com/gnif/vendor-reset, read 2026-12; IDs as the PCI ID repository
 * https://pci-ids.ucw.cz/read/PC/1002 names them). These cards advertise a reset
 * (usually bus or FLR) that does not bring them back: the AMD reset bug, reported in
 * gnif/vendor-reset issues #46, #65, #101 and #107. */
static const struct {
        unsigned first, last;
        const char *family;
} vendor_reset_ids[] = {
        /* Polaris 10/20 (RX 470/480/570/580/590): Ellesmere 67c0-67df, 6fdf */
        {0x67c0, 0x67c2, "AMD Polaris 10"},
        {0x67c4, 0x67c4, "AMD Polaris 10"},
        {0x67c7, 0x67c9, "AMD Polaris 10"},
        {0x67ca, 0x67ca, "AMD Polaris 10"},
        {0x67cc, 0x67cc, "AMD Polaris 10"},
        {0x67cf, 0x67d0, "AMD Polaris 10"},
        {0x67df, 0x67df, "AMD Polaris 10"},
        {0x6fdf, 0x6fdf, "AMD Polaris 10"},
        /* Polaris 11 (RX 460/560): Baffin */
        {0x67e0, 0x67e1, "AMD Polaris 11"},
        {0x67e3, 0x67e3, "AMD Polaris 11"},
        {0x67e7, 0x67e9, "AMD Polaris 11"},
        {0x67eb, 0x67eb, "AMD Polaris 11"},
        {0x67ef, 0x67ef, "AMD Polaris 11"},
        {0x67ff, 0x67ff, "AMD Polaris 11"},
        /* Polaris 12 (RX 540/550): Lexa */
        {0x6980, 0x6981, "AMD Polaris 12"},
        {0x6985, 0x6987, "AMD Polaris 12"},
        {0x6995, 0x6995, "AMD Polaris 12"},
        {0x6997, 0x6997, "AMD Polaris 12"},
        {0x699f, 0x699f, "AMD Polaris 12"},
        /* Vega 10 (RX Vega 56/64, Frontier Edition) */
        {0x6860, 0x6864, "AMD Vega 10"},
        {0x6867, 0x686f, "AMD Vega 10"},
        {0x687f, 0x687f, "AMD Vega 10"},
        /* Vega 20 (Radeon VII, Instinct MI50/60) and Arcturus (Instinct MI100) */
        {0x66a0, 0x66a4, "AMD Vega 20"},
        {0x66a7, 0x66a7, "AMD Vega 20"},
        {0x66af, 0x66af, "AMD Vega 20"},
        {0x738c, 0x738c, "AMD Arcturus"},
        /* Navi 10 (RX 5600/5700) */
        {0x7310, 0x7310, "AMD Navi 10"},
        {0x7312, 0x7312, "AMD Navi 10"},
        {0x7318, 0x731b, "AMD Navi 10"},
        {0x731e, 0x731f, "AMD Navi 10"},
        /* Navi 12 (Radeon Pro 5600M, V520) */
        {0x7360, 0x7360, "AMD Navi 12"},
        {0x7362, 0x7362, "AMD Navi 12"},
        /* Navi 14 (RX 5300/5500) */
        {0x7340, 0x7341, "AMD Navi 14"},
        {0x7347, 0x7347, "AMD Navi 14"},
        {0x734f, 0x734f, "AMD Navi 14"},
        /* Navi 23 (RX 6600/6600 XT) */
        {0x73ff, 0x73ff, "AMD Navi 23"},
};

const char *hostprep_vendor_reset_family(unsigned vendor, unsigned device)
{
        if (vendor != PCI_VENDOR_AMD)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(vendor_reset_ids); i++)
                if (device >= vendor_reset_ids[i].first && device <= vendor_reset_ids[i].last)
                        return vendor_reset_ids[i].family;
        return NULL;
}

static unsigned le16(const uint8_t *p)
{
        return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static unsigned le32(const uint8_t *p)
{
        return le16(p) | le16(p + 2) << 16;
}

int hostprep_reset_info_read(const char *addr, struct hostprep_reset_info *out)
{
        *out = (struct hostprep_reset_info){0};
        snprintf(out->addr, sizeof(out->addr), "%s", addr);
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
        if (!sysroot_exists(path))
                return -ENODEV;
        uint8_t config[PCI_CONFIG_LEN];
        ssize_t n = pci_config_read(addr, config, sizeof(config));
        if (n >= PCI_CONFIG_HEADER_LEN) {
                size_t len = (size_t)n;
                out->config_ok = true;
                out->vendor = le16(config);
                out->device = le16(config + 2);
                out->class_code = le32(config + 8) >> 8;
                unsigned exp = pci_config_find_cap(config, len, PCI_CAP_ID_EXP);
                if (exp && exp + PCI_EXP_DEVCAP + 4 <= len &&
                    (le32(config + exp + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR))
                        out->flr = true;
                unsigned af = pci_config_find_cap(config, len, PCI_CAP_ID_AF);
                if (af && af + PCI_AF_CAP < len &&
                    (config[af + PCI_AF_CAP] & PCI_AF_CAP_TP_FLR) == PCI_AF_CAP_TP_FLR)
                        out->flr = true;
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset_method", addr);
        if (sysroot_read_line(path, out->methods, sizeof(out->methods)) == 0)
                out->has_method_file = true;
        else
                out->methods[0] = '\0';
        out->vendor_reset_family = hostprep_vendor_reset_family(out->vendor, out->device);
        return 0;
}

void hostprep_vendor_reset_read(struct hostprep_vendor_reset *out)
{
        *out = (struct hostprep_vendor_reset){0};
        out->loaded = sysroot_exists("/sys/module/vendor_reset");
        char release[128], path[PATH_MAX];
        char *dep = NULL;
        if (sysroot_read_line("/proc/sys/kernel/osrelease", release, sizeof(release)) < 0)
                return;
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", release);
        if (sysroot_read_file(path, &dep) == 0)
                out->installed = strstr(dep, "/vendor-reset.ko") != NULL ||
                                 strstr(dep, "/vendor_reset.ko") != NULL;
        free(dep);
        out->installed |= out->loaded;
}

static bool methods_first(const char *methods, const char *name)
{
        size_t n = strlen(name);
        return !strncmp(methods, name, n) && (methods[n] == '\0' || methods[n] == ' ');
}

const char *hostprep_reset_auto(const struct hostprep_reset_info *info,
                                const struct hostprep_vendor_reset *vr)
{
        return info->vendor_reset_family && vr->loaded ? "device_specific" : NULL;
}

void hostprep_reset_describe(const struct hostprep_reset_info *info, char *buf, size_t len)
{
        snprintf(buf, len, "%s (%04x:%04x%s%s): %s%s%s; FLR %s", info->addr, info->vendor,
                 info->device, info->vendor_reset_family ? ", " : "",
                 info->vendor_reset_family ? info->vendor_reset_family : "",
                 !info->has_method_file ? "reset_method unknown (kernel before 5.15)"
                 : info->methods[0]     ? "the kernel resets it by "
                                        : "no reset method",
                 info->has_method_file ? info->methods : "",
                 info->has_method_file && strstr(info->methods, "bus")
                         ? " (bus: a secondary bus reset of its slot)"
                         : "",
                 info->flr ? "advertised" : "not advertised");
}

bool hostprep_reset_advice(const struct hostprep_reset_info *info,
                           const struct hostprep_vendor_reset *vr, const char *configured,
                           char *buf, size_t len)
{
        char who[96];
        snprintf(who, sizeof(who), "%s (%04x:%04x%s%s)", info->addr, info->vendor, info->device,
                 info->vendor_reset_family ? ", " : "",
                 info->vendor_reset_family ? info->vendor_reset_family : "");
        const char *after =
                "after the VM it may not come back: vmlaunch then keeps it on vfio-pci and the host needs a reboot to use it (exit 16)";
        bool uses_vr = configured &&
                       (streq(configured, "auto") || methods_first(configured, "device_specific"));
        if (info->vendor_reset_family && !vr->installed) {
                snprintf(
                        buf, len,
                        "%s does not reset reliably without vendor-reset (the AMD reset bug) and vendor-reset is not installed: %s. Install it (https://github.com/gnif/vendor-reset, with DKMS), load it (`modprobe vendor_reset`, and list it in /etc/modules-load.d/) and set [gpu] reset_method = auto",
                        who, after);
                return true;
        }
        if (info->vendor_reset_family && !vr->loaded) {
                snprintf(
                        buf, len,
                        "%s needs vendor-reset, which is installed but not loaded: %s. Run `modprobe vendor_reset` (and list it in /etc/modules-load.d/) and set [gpu] reset_method = auto",
                        who, after);
                return true;
        }
        if (info->vendor_reset_family && !uses_vr &&
            !methods_first(info->methods, "device_specific")) {
                snprintf(
                        buf, len,
                        "%s: vendor_reset is loaded but the kernel resets it by '%s' first, which does not bring this card back: %s. Set [gpu] reset_method = auto (the run then uses device_specific, vendor-reset's)",
                        who, info->methods[0] ? info->methods : "nothing", after);
                return true;
        }
        if (!info->vendor_reset_family && info->has_method_file && !info->methods[0] &&
            !info->flr) {
                snprintf(
                        buf, len,
                        "%s has no reset method (no FLR, no bus reset): QEMU cannot reset it, so it goes back to its driver in whatever state the guest left it; vmlaunch checks that it answers first and keeps it on vfio-pci if it does not. Putting the card alone in a slot behind its own bridge allows a bus reset",
                        who);
                return true;
        }
        return false;
}

int hostprep_reset_infos(const struct vm_def *def, struct hostprep_reset_info **infos, size_t *n)
{
        *infos = NULL;
        *n = 0;
        struct vmdef_pci_addr *members = NULL;
        size_t count = 0;
        struct vl_error err = {0};
        if (!def->has_gpu || hostprep_gpu_group(def, &members, &count, &err) < 0)
                return 0;
        struct hostprep_reset_info *out = calloc(count ? count : 1, sizeof(*out));
        if (!out) {
                free(members);
                return -ENOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < count; i++) {
                char addr[16];
                vmdef_pci_addr_format(&members[i], addr);
                if (hostprep_reset_info_read(addr, &out[k]) == 0)
                        k++;
        }
        free(members);
        *infos = out;
        *n = k;
        return 0;
}
