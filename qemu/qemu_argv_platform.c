/* The guest's platform beyond its devices, each a small addition of its own:
 *   -global kvm-pit.lost_tick_policy=, -global ICH9-LPC.disable_s3/_s4= ..... libvirt's
 *     <timer name='pit' tickpolicy='delay'/> and <pm><suspend-to-mem enabled='no'/>
 *     <suspend-to-disk enabled='no'/></pm>, virt-manager's Windows defaults
 *   -smbios type=0..3,... ........................ <sysinfo type='smbios'> / <smbios mode='host'/>
 *   -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=N . <qemu:commandline>, what users add by
 *     hand for GPUs whose BARs do not fit OVMF's default 64-bit PCI window
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "qemu/qemu_argv_internal.h"
#include "qemu/qemu_platform.h"
#include "util/macro.h"

const struct qemu_smbios_field qemu_smbios_fields[QEMU_SMBIOS_N_FIELDS] = {
        {"bios_vendor", 0, "vendor"},
        {"bios_version", 0, "version"},
        {"bios_date", 0, "date"},
        {"sys_vendor", 1, "manufacturer"},
        {"product_name", 1, "product"},
        {"product_version", 1, "version"},
        {"product_serial", 1, "serial"},
        {"product_uuid", 1, "uuid"},
        {"product_sku", 1, "sku"},
        {"product_family", 1, "family"},
        {"board_vendor", 2, "manufacturer"},
        {"board_name", 2, "product"},
        {"board_version", 2, "version"},
        {"board_serial", 2, "serial"},
        {"board_asset_tag", 2, "asset"},
        {"chassis_vendor", 3, "manufacturer"},
        {"chassis_version", 3, "version"},
        {"chassis_serial", 3, "serial"},
        {"chassis_asset_tag", 3, "asset"},
};

/* The Windows guest is the one with Hyper-V enlightenments on (as in qemu_argv.c). */
static bool guest_is_windows(const struct vm_def *def)
{
        return def->hyperv.enabled;
}

/* The ACPI device that carries disable_s3/disable_s4 on this machine type: ICH9's LPC
 * bridge on q35, PIIX4's power management on i440fx; NULL for others (microvm). */
static const char *sleep_device(const struct vm_def *def)
{
        const char *m = def->machine ? def->machine : "q35";
        if (streq(m, "q35") || !strncmp(m, "pc-q35-", 7))
                return "ICH9-LPC";
        if (streq(m, "pc") || !strncmp(m, "pc-i440fx-", 10))
                return "PIIX4_PM";
        return NULL;
}

/* -global DEVICE.PROPERTY=VALUE: every part is one of our fixed words. */
static int push_global(struct argv_builder *b, const char *device, const char *property,
                       const char *value)
{
        struct optstr o = {0};
        optstr_addf(&o, "%s.%s=%s", device, property, value);
        return argv_push_option(b, "-global", &o);
}

/* A guest that suspends with a passed-through GPU rarely wakes (the GPU loses its
 * state in D3cold and nothing restores it), so a Windows guest is not offered S3/S4
 * unless the definition says so. */
static int add_sleep_state(struct argv_builder *b, enum vmdef_guest_sleep sleep, const char *prop)
{
        const char *device = sleep_device(b->def);
        if (!device || sleep == VMDEF_SLEEP_ON ||
            (sleep == VMDEF_SLEEP_AUTO && !guest_is_windows(b->def)))
                return 0; /* QEMU's default offers both states */
        return push_global(b, device, prop, "1");
}

/* kvm-pit exists only under KVM: QEMU 7.2 with -accel tcg accepts the -global and
 * silently ignores it (checked), so it is left out there rather than shown doing
 * nothing. delay is kvm-pit's own default; libvirt still writes it out for Windows
 * domains, and so does vmlaunch, so the plan says what the guest gets. */
static int add_pit_policy(struct argv_builder *b)
{
        enum vmdef_pit_policy p = b->def->pit_policy;
        if (!b->kvm || (p == VMDEF_PIT_AUTO && !guest_is_windows(b->def)))
                return 0;
        return push_global(b, "kvm-pit", "lost_tick_policy",
                           p == VMDEF_PIT_DISCARD ? "discard" : "delay");
}

static int add_timer_and_sleep_globals(struct argv_builder *b)
{
        int r = add_pit_policy(b);
        if (r >= 0)
                r = add_sleep_state(b, b->def->suspend_to_ram, "disable_s3");
        if (r >= 0)
                r = add_sleep_state(b, b->def->suspend_to_disk, "disable_s4");
        return r;
}

/* QEMU refuses the whole command line for a malformed uuid=; some firmwares fill
 * product_uuid with garbage, and the guest then keeps QEMU's own UUID. */
static bool uuid_well_formed(const char *s)
{
        static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
        if (strlen(s) != sizeof(shape) - 1)
                return false;
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
                        return false;
        return true;
}

/* [smbios] mode = host: one -smbios per type that has at least one string. Values
 * are copied as the host's firmware wrote them, placeholders like "To Be Filled By
 * O.E.M." included: that is what real boards show, and leaving a field out would
 * make QEMU fill in its own "QEMU" strings, which is what the copy is meant to hide.
 * Only empty or unreadable values are left to QEMU. Every value goes through
 * optstr_add (commas doubled): DMI strings are free text. */
static int add_smbios(struct argv_builder *b)
{
        const char *const *host = b->opts->smbios_host;
        if (b->def->smbios_mode != VMDEF_SMBIOS_HOST || !host)
                return 0;
        for (unsigned type = 0; type <= 3; type++) {
                struct optstr o = {0};
                bool any = false;
                optstr_addf(&o, "type=%u", type);
                for (size_t i = 0; i < QEMU_SMBIOS_N_FIELDS; i++) {
                        const struct qemu_smbios_field *f = &qemu_smbios_fields[i];
                        const char *v = host[i];
                        if (f->type != type || !v || !*v)
                                continue;
                        if (streq(f->key, "uuid") && !uuid_well_formed(v))
                                continue;
                        optstr_add(&o, f->key, v);
                        any = true;
                }
                int r = any ? argv_push_option(b, "-smbios", &o) : 0;
                if (!any)
                        optstr_free(&o);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Room left in the window for everything else with a 64-bit BAR (virtio devices,
 * the other root ports) and for the bridge windows' alignment. */
#define MMIO64_HEADROOM_BYTES (1ULL << 30)

uint64_t qemu_pci_mmio64_mb(uint64_t bar64_bytes)
{
        if (!bar64_bytes)
                return 0;
        /* OVMF aligns the window to its own size (rounded down to a power of two) and
         * each BAR to its size; a power of two covering the sum holds BARs that are
         * themselves powers of two, packed largest first. */
        uint64_t need = bar64_bytes + MMIO64_HEADROOM_BYTES;
        uint64_t window = 1ULL << 30;
        while (window < need && window < (1ULL << 62))
                window <<= 1;
        return window > QEMU_OVMF_MMIO64_DEFAULT_BYTES ? window >> 20 : 0;
}

/* OVMF reads opt/ovmf/X-PciMmio64Mb from fw_cfg to size its 64-bit PCI window
 * (OvmfPkg/Library/PlatformInitLib/MemDetect.c). Its default is PcdPciMmio64Size,
 * 0x800000000 = 32 GiB in edk2's OvmfPkgX64.dsc, the default Debian 12's ovmf (edk2
 * 2022.11) is built with; a GPU with a 32 GiB BAR does not fit and the guest sees
 * it disabled (Code 12 in Windows). Newer edk2 (PlatformDynamicMmioWindow) may grow
 * the window from the CPU's physical address bits when QEMU reports them reliably;
 * the explicit size still holds what this group needs there. SeaBIOS has no such
 * setting. */
static int add_pci_window(struct argv_builder *b)
{
        if (b->def->firmware != VMDEF_FIRMWARE_UEFI)
                return 0;
        uint64_t mb = qemu_pci_mmio64_mb(b->opts->gpu_bar64_bytes);
        if (!mb)
                return 0;
        struct optstr o = {0};
        optstr_addf(&o, "name=opt/ovmf/X-PciMmio64Mb,string=%" PRIu64, mb);
        return argv_push_option(b, "-fw_cfg", &o);
}

int argv_add_platform(struct argv_builder *b)
{
        int r = add_timer_and_sleep_globals(b);
        if (r >= 0)
                r = add_smbios(b);
        if (r >= 0)
                r = add_pci_window(b);
        return r;
}
