/* Defaults that depend on other keys, then checks across keys. Pure: looks at nothing
 * but the definition. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdefs/internal.h"
#include "util/macro.h"

/* The largest vCPU count of QEMU 7.2's q35 machine. */
#define MAX_VCPUS  288
#define MIN_MEMORY (64ull << 20)

struct checker {
        struct vm_def *def;
        const struct vmdef_ini *ini;
        struct vmdef_diags *diags;
};

/* Line of a key (0 when it was not given: the diagnostic then has no line). */
static unsigned key_line(const struct checker *c, const char *section, const char *key)
{
        const struct vmdef_ini_entry *e = vmdef_ini_find(c->ini, section, key);
        return e ? e->line : 0;
}

static bool given(const struct checker *c, const char *section, const char *key)
{
        return vmdef_ini_find(c->ini, section, key) != NULL;
}

#define ERR(c, section, key, ...)                                                                  \
        vmdef_diag_add((c)->diags, VMDEF_ERROR, key_line(c, section, key), section, key,           \
                       __VA_ARGS__)
#define WARN(c, section, key, ...)                                                                 \
        vmdef_diag_add((c)->diags, VMDEF_WARNING, key_line(c, section, key), section, key,         \
                       __VA_ARGS__)

unsigned vmdef_vcpu_count(const struct vm_def *def)
{
        return def->sockets * def->dies * def->cores * def->threads;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

/* The file's name without ".ini": the name the definition is loaded as. */
static char *file_stem(const char *path)
{
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (ends_with(base, ".ini"))
                n -= 4;
        return strndup(base, n);
}

static bool name_usable(const char *n)
{
        bool ok = n[0] && n[0] != '.' && n[0] != '-' && strlen(n) <= 64;
        for (const char *p = n; ok && *p; p++)
                ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("_.-", *p);
        return ok;
}

/* One name everywhere: `vmlaunch run x`, `status x`, `stop x`, `restore x` and
 * vmlaunch@x.service all find the run by the NAME the file was loaded as, so the VM
 * is named after its file, and a [vm] name that says otherwise is refused rather
 * than followed (it would leave x's commands finding nothing). */
static int check_name(struct checker *c)
{
        struct vm_def *def = c->def;
        char *stem = file_stem(def->path ? def->path : "vm");
        if (!stem)
                return -ENOMEM;
        if (!name_usable(stem)) {
                vmdef_diag_add(
                        c->diags, VMDEF_ERROR, 0, NULL, NULL,
                        "the file name gives the VM name \"%s\", which cannot name files and units; expected a file named NAME.ini with NAME of letters, digits, '_', '.' or '-' (rename the file)",
                        stem);
        } else if (def->name && strcmp(def->name, stem)) {
                ERR(c, "vm", "name",
                    "\"%s\" differs from \"%s\", the name this file is loaded as (%s.ini), which run, status, stop, restore and vmlaunch@%s.service use; expected name = %s, or rename the file to %s.ini",
                    def->name, stem, stem, stem, stem, def->name);
        }
        if (def->name) {
                free(stem);
                return 0;
        }
        def->name = stem;
        return 0;
}

static int finish_memory(struct checker *c)
{
        struct vm_def *def = c->def;
        if (!given(c, "memory", "prealloc"))
                def->prealloc = def->hugepage_bytes != 0;
        if (def->memory_bytes < MIN_MEMORY)
                ERR(c, "memory", "size", "%llu bytes is too small; expected at least 64M",
                    (unsigned long long)def->memory_bytes);
        else if (def->memory_bytes % (1u << 20))
                ERR(c, "memory", "size", "not a whole number of MiB; expected a multiple of 1M");
        if (def->hugepage_bytes && def->memory_bytes % def->hugepage_bytes)
                ERR(c, "memory", "size",
                    "%llu MiB is not a multiple of the %s hugepage size; expected a multiple of %s",
                    (unsigned long long)(def->memory_bytes >> 20),
                    def->hugepage_bytes == 1u << 30 ? "1G" : "2M",
                    def->hugepage_bytes == 1u << 30 ? "1G" : "2M");
        if (!def->hugepage_bytes && given(c, "memory", "allocate_hugepages"))
                WARN(c, "memory", "allocate_hugepages",
                     "ignored because hugepages = off; set hugepages = 2M or 1G to use it");
        if (!def->prealloc && given(c, "memory", "prealloc_threads"))
                WARN(c, "memory", "prealloc_threads",
                     "ignored because prealloc = no; set prealloc = yes to use it");
        return 0;
}

static int finish_firmware(struct checker *c)
{
        struct vm_def *def = c->def;
        if (def->firmware == VMDEF_FIRMWARE_BIOS && def->secure_boot)
                ERR(c, "firmware", "secure_boot",
                    "yes needs UEFI, but type = bios (SeaBIOS has no Secure Boot); set type = uefi or secure_boot = no");
        if (def->firmware == VMDEF_FIRMWARE_BIOS) {
                static const char *const uefi_keys[] = {"code", "vars_template", "vars"};
                for (size_t i = 0; i < 3; i++)
                        if (given(c, "firmware", uefi_keys[i]))
                                WARN(c, "firmware", uefi_keys[i],
                                     "ignored because type = bios; remove it or set type = uefi");
                return 0;
        }
        if (!def->ovmf_vars &&
            asprintf(&def->ovmf_vars, "/var/lib/vmlaunch/%s/OVMF_VARS.fd", def->name) < 0) {
                def->ovmf_vars = NULL;
                return -ENOMEM;
        }
        if (def->ovmf_vars_template && streq(def->ovmf_vars, def->ovmf_vars_template))
                ERR(c, "firmware", "vars",
                    "is the template itself, the VM would write into it; expected a per-VM copy such as /var/lib/vmlaunch/%s/OVMF_VARS.fd",
                    def->name);
        if (def->ovmf_code && streq(def->ovmf_vars, def->ovmf_code))
                ERR(c, "firmware", "vars",
                    "is the firmware code file; expected a separate per-VM variables file");
        return 0;
}

static void check_boot(struct checker *c)
{
        const struct vm_def *def = c->def;
        if (def->kernel)
                return;
        if (def->initrd)
                ERR(c, "boot", "initrd", "given without a kernel; expected kernel = too");
        if (def->cmdline)
                ERR(c, "boot", "cmdline", "given without a kernel; expected kernel = too");
}

static void check_qemu(struct checker *c)
{
        const struct vm_def *def = c->def;
        vmdef_check_qemu_args(def, key_line(c, "qemu", "args"), c->diags);
        /* VNC's only protection is its password: off loopback, anyone who reaches the
         * port would get the guest's screen and keyboard. */
        if (def->vnc_host && !def->vnc_loopback && !def->vnc_password_file)
                ERR(c, "qemu", "display",
                    "VNC on %s listens beyond this host and has no password; expected a loopback address (vnc=:N listens on 127.0.0.1 only) or [qemu] vnc_password_file = a root-only file holding the password",
                    def->vnc_host);
        if (def->vnc_password_file && !def->vnc_host)
                WARN(c, "qemu", "vnc_password_file",
                     "ignored because display is not vnc=...; remove it or set display = vnc=ADDR:N");
}

/* Allowed, like libvirt's user = "root" in qemu.conf, but never quietly. */
static void check_qemu_user(struct checker *c)
{
        if (streq(c->def->qemu_user, "root"))
                WARN(c, "qemu", "user",
                     "root: QEMU runs as root with every capability, so a guest escape or any QEMU bug is host root; leave user unset to run it as " VMDEF_DEFAULT_QEMU_USER);
}

static void check_cpu(struct checker *c)
{
        struct vm_def *def = c->def;
        bool host = streq(def->cpu_model, "host");
        unsigned n = vmdef_vcpu_count(def);

        if (!given(c, "cpu", "cache_passthrough"))
                def->cache_passthrough = host;
        else if (def->cache_passthrough && !host)
                ERR(c, "cpu", "cache_passthrough",
                    "needs model = host (QEMU's host-cache-info); expected model = host or cache_passthrough = no");
        if (host && def->accel == VMDEF_ACCEL_TCG) {
                if (given(c, "cpu", "model"))
                        ERR(c, "cpu", "model",
                            "host needs KVM but [qemu] accel = tcg; expected a QEMU model such as max, or accel = kvm");
                else
                        ERR(c, "qemu", "accel",
                            "tcg cannot run the default [cpu] model = host; expected model = max (or another QEMU model), or accel = kvm");
        }
        if (n > MAX_VCPUS)
                ERR(c, "cpu", "cores",
                    "sockets x dies x cores x threads = %u vCPUs; expected at most %u", n,
                    MAX_VCPUS);
        if (def->vcpu_pin.count && def->vcpu_pin.count != n)
                ERR(c, "cpu", "vcpu_pin",
                    "lists %zu CPUs but the VM has %u vCPUs (sockets %u x dies %u x cores %u x threads %u); expected exactly %u CPUs, one per vCPU",
                    def->vcpu_pin.count, n, def->sockets, def->dies, def->cores, def->threads, n);
        if (def->isolate_cpus && !def->vcpu_pin.count && !def->vcpu_pin_auto)
                ERR(c, "host", "isolate_cpus",
                    "needs pinned vCPUs; expected [cpu] vcpu_pin = CPU list or auto");
        if (def->governor_cpus == VMDEF_GOVERNOR_PINNED && given(c, "host", "governor_cpus") &&
            !def->vcpu_pin.count && !def->vcpu_pin_auto)
                WARN(c, "host", "governor_cpus",
                     "pinned with no [cpu] vcpu_pin: the governor is set on no CPU; expected vcpu_pin or governor_cpus = all");
}

static void check_hyperv(struct checker *c)
{
        struct vmdef_hyperv *hv = &c->def->hyperv;
        if (!hv->enabled) {
                for (size_t i = 0; i < c->ini->n_entries; i++) {
                        const struct vmdef_ini_entry *e = &c->ini->entries[i];
                        if (streq(c->ini->sections[e->section].name, "hyperv") &&
                            strcmp(e->key, "enabled"))
                                vmdef_diag_add(
                                        c->diags, VMDEF_WARNING, e->line, "hyperv", e->key,
                                        "ignored because enabled = no; remove it or set enabled = yes");
                }
                char *vendor = hv->vendor_id;
                memset(hv, 0, sizeof(*hv));
                free(vendor);
                return;
        }
        static const struct {
                const char *key, *needs;
                size_t key_off, needs_off;
        } deps[] = {
#define DEP(a, b) {#a, #b, offsetof(struct vmdef_hyperv, a), offsetof(struct vmdef_hyperv, b)}
                DEP(synic, vpindex),        DEP(stimer, synic),          DEP(stimer, time),
                DEP(stimer_direct, stimer), DEP(tlbflush, vpindex),      DEP(ipi, vpindex),
                DEP(evmcs, vapic),          DEP(tlbflush_ext, tlbflush),
#undef DEP
        };
        for (size_t i = 0; i < ELEMENTSOF(deps); i++) {
                bool on = *(bool *)((char *)hv + deps[i].key_off);
                bool needed = *(bool *)((char *)hv + deps[i].needs_off);
                if (!on || needed)
                        continue;
                /* Point at the line the user wrote: the flag, or else what turned off. */
                if (given(c, "hyperv", deps[i].key))
                        ERR(c, "hyperv", deps[i].key,
                            "needs %s, which is off; expected %s = yes or %s = no", deps[i].needs,
                            deps[i].needs, deps[i].key);
                else
                        ERR(c, "hyperv", deps[i].needs,
                            "off, but %s (on by default) needs it; expected %s = yes or %s = no",
                            deps[i].key, deps[i].needs, deps[i].key);
        }
}

static const struct vmdef_iothread *iothread_find(const struct vm_def *def, const char *id)
{
        for (size_t i = 0; i < def->n_iothreads; i++)
                if (streq(def->iothreads[i].id, id))
                        return &def->iothreads[i];
        return NULL;
}

static void check_disks(struct checker *c)
{
        struct vm_def *def = c->def;
        char sec[64];
        unsigned sata = 0;
        for (size_t i = 0; i < def->n_disks; i++) {
                struct vmdef_disk *d = &def->disks[i];
                snprintf(sec, sizeof(sec), "disk.%s", d->id);
                if (d->bus == VMDEF_BUS_SATA && ++sata > VMDEF_SATA_PORTS)
                        vmdef_diag_add(
                                c->diags, VMDEF_ERROR,
                                given(c, sec, "bus") ? key_line(c, sec, "bus") : d->line, sec,
                                "bus",
                                "sata disk number %u, but q35 has %d SATA ports; expected bus = virtio-blk or virtio-scsi for the others",
                                sata, VMDEF_SATA_PORTS);
                if (!d->path) {
                        if (given(c, sec, "path"))
                                continue; /* its value was already reported */
                        vmdef_diag_add(
                                c->diags, VMDEF_ERROR, d->line, sec, "path",
                                "missing; expected the image file or block device, e.g. path = /var/lib/vmlaunch/%s/disk.qcow2",
                                def->name);
                        continue;
                }
                d->path_line = key_line(c, sec, "path");
                if (!given(c, sec, "format"))
                        d->format = ends_with(d->path, ".qcow2") ? VMDEF_FORMAT_QCOW2
                                                                 : VMDEF_FORMAT_RAW;
                if (!given(c, sec, "aio"))
                        d->aio = vmdef_cache_is_direct(d->cache) ? VMDEF_AIO_NATIVE
                                                                 : VMDEF_AIO_THREADS;
                else if (!vmdef_disk_aio_fits_cache(d->aio, d->cache))
                        ERR(c, sec, "aio",
                            "native needs O_DIRECT; expected cache = none or directsync, or aio = threads or io_uring");
                if (d->media == VMDEF_MEDIA_CDROM) {
                        if (!given(c, sec, "readonly"))
                                d->readonly = true;
                        else if (!d->readonly)
                                ERR(c, sec, "readonly",
                                    "a cdrom is always read-only; expected readonly = yes or media = disk");
                        if (d->bus == VMDEF_BUS_VIRTIO_BLK)
                                ERR(c, sec, "media",
                                    "virtio-blk has no cdrom; expected bus = sata or virtio-scsi");
                } else if (d->readonly && d->bus == VMDEF_BUS_SATA) {
                        ERR(c, sec, "readonly",
                            "QEMU has no read-only SATA disk; expected bus = virtio-blk or virtio-scsi, or media = cdrom");
                }
                if (d->iothread) {
                        if (d->bus == VMDEF_BUS_SATA)
                                ERR(c, sec, "iothread",
                                    "sata disks cannot use an iothread; expected bus = virtio-blk or virtio-scsi");
                        else if (!iothread_find(def, d->iothread))
                                ERR(c, sec, "iothread",
                                    "no iothread \"%s\" is defined; expected a key of [iothreads], e.g. %s = 2-3",
                                    d->iothread, d->iothread);
                }
                for (size_t j = 0; j < i; j++) {
                        const struct vmdef_disk *o = &def->disks[j];
                        if (o->path && streq(o->path, d->path))
                                ERR(c, sec, "path",
                                    "also used by [disk.%s]; expected each image once (two writers corrupt it)",
                                    o->id);
                        if (d->boot && o->boot == d->boot)
                                ERR(c, sec, "boot",
                                    "order %u is also used by [disk.%s]; expected a different number per disk",
                                    d->boot, o->id);
                        if (d->serial && o->serial && streq(d->serial, o->serial))
                                ERR(c, sec, "serial",
                                    "also used by [disk.%s]; expected a serial unique per disk",
                                    o->id);
                }
        }
}

static void check_gpu(struct checker *c)
{
        struct vm_def *def = c->def;
        if (!def->has_gpu) {
                if (given(c, "gpu", "romfile") || given(c, "gpu", "group") ||
                    given(c, "gpu", "reset_method")) {
                        const char *k = given(c, "gpu", "group")          ? "group"
                                        : given(c, "gpu", "reset_method") ? "reset_method"
                                                                          : "romfile";
                        ERR(c, "gpu", k,
                            "given without an address; expected address = the GPU's PCI address, e.g. 06:00.0");
                }
                return;
        }
        /* qemu/ puts the GPU behind a pcie-root-port: i440fx (pc), microvm and the
         * like have no PCIe, and QEMU would refuse the whole command line */
        const char *m = def->machine ? def->machine : "q35";
        if (!streq(m, "q35") && strncmp(m, "pc-q35-", 7) != 0)
                ERR(c, "qemu", "machine",
                    "%s cannot take the GPU: vmlaunch passes it through on a PCIe root port, which only q35 machines have (and GPU drivers expect PCIe); expected machine = q35 or a pc-q35-* version",
                    m);
        if (def->n_gpu_group > VMDEF_GPU_FUNCTIONS_MAX)
                ERR(c, "gpu", "group",
                    "lists %zu devices, but they share one PCI slot of at most %d functions; expected at most %d",
                    def->n_gpu_group, VMDEF_GPU_FUNCTIONS_MAX, VMDEF_GPU_FUNCTIONS_MAX);
        bool in_group = !def->n_gpu_group;
        for (size_t i = 0; i < def->n_gpu_group; i++)
                in_group |=
                        !memcmp(&def->gpu_group[i], &def->gpu_address, sizeof(def->gpu_address));
        if (!in_group) {
                char addr[16];
                vmdef_pci_addr_format(&def->gpu_address, addr);
                ERR(c, "gpu", "group",
                    "does not contain the GPU address %s; expected %s in the list", addr, addr);
        }
}

static void check_usb_evdev_net(struct checker *c)
{
        struct vm_def *def = c->def;
        char sec[64];
        for (size_t i = 0; i < def->n_usb; i++) {
                const struct vmdef_usb *u = &def->usb[i];
                snprintf(sec, sizeof(sec), "usb.%s", u->id);
                if (!given(c, sec, "vendor") || !given(c, sec, "product"))
                        vmdef_diag_add(
                                c->diags, VMDEF_ERROR, u->line, sec,
                                given(c, sec, "vendor") ? "product" : "vendor",
                                "missing; expected vendor = and product = as hex IDs from lsusb, e.g. 046d and c52b");
        }
        for (size_t i = 0; i < def->n_evdev; i++) {
                struct vmdef_evdev *e = &def->evdev[i];
                snprintf(sec, sizeof(sec), "evdev.%s", e->id);
                if (!e->path) {
                        if (given(c, sec, "path"))
                                continue;
                        vmdef_diag_add(
                                c->diags, VMDEF_ERROR, e->line, sec, "path",
                                "missing; expected an input device such as /dev/input/by-id/usb-...-event-kbd");
                        continue;
                }
                e->path_line = key_line(c, sec, "path");
                for (size_t j = 0; j < i; j++)
                        if (def->evdev[j].path && streq(def->evdev[j].path, e->path))
                                ERR(c, sec, "path",
                                    "also used by [evdev.%s]; expected each device once",
                                    def->evdev[j].id);
        }
        for (size_t i = 0; i < def->n_nets; i++) {
                const struct vmdef_net *n = &def->nets[i];
                snprintf(sec, sizeof(sec), "net.%s", n->id);
                if (n->mode == VMDEF_NET_BRIDGE && !n->bridge)
                        vmdef_diag_add(
                                c->diags, VMDEF_ERROR, key_line(c, sec, "mode"), sec, "bridge",
                                "missing for mode = bridge; expected the host bridge, e.g. bridge = br0");
                if (n->mode == VMDEF_NET_USER && n->bridge)
                        ERR(c, sec, "bridge",
                            "only used with mode = bridge; expected mode = bridge or no bridge");
                for (size_t j = 0; j < i && n->mac; j++)
                        if (def->nets[j].mac && !strcasecmp(def->nets[j].mac, n->mac))
                                ERR(c, sec, "mac", "also used by [net.%s]; expected unique MACs",
                                    def->nets[j].id);
        }
}

static int finish_host(struct checker *c)
{
        struct vm_def *def = c->def;
        /* Detaching the only GPU needs the display manager gone; without a GPU nothing
         * on the host has to stop. */
        if (!given(c, "host", "stop_units") && def->has_gpu) {
                def->stop_units = calloc(2, sizeof(char *));
                if (!def->stop_units || !(def->stop_units[0] = strdup("display-manager.service")))
                        return -ENOMEM;
                def->n_stop_units = 1;
        }
        if (def->isolate_cpus && def->emulator_pin.count == 0)
                ERR(c, "host", "isolate_cpus",
                    "needs CPUs to keep for the host; expected [cpu] emulator_pin = the host's CPUs");
        return 0;
}

/* The TPM's state is persistent VM state, next to the UEFI variables by default. */
static int finish_tpm(struct checker *c)
{
        struct vm_def *def = c->def;
        if (!def->tpm_enabled) {
                if (given(c, "tpm", "state_dir"))
                        WARN(c, "tpm", "state_dir",
                             "ignored because enabled = no; set enabled = yes to use it");
                return 0;
        }
        if (!def->tpm_state_dir &&
            asprintf(&def->tpm_state_dir, "/var/lib/vmlaunch/%s/tpm", def->name) < 0) {
                def->tpm_state_dir = NULL;
                return -ENOMEM;
        }
        if (streq(def->tpm_state_dir, "/"))
                ERR(c, "tpm", "state_dir",
                    "is the root folder; expected a folder of this VM's own, such as /var/lib/vmlaunch/%s/tpm",
                    def->name);
        return 0;
}

/* A readiness that needs the agent needs its port; a wake-up needs a MAC to match. */
static void check_session(struct checker *c)
{
        const struct vm_def *def = c->def;
        if (def->ready == VMDEF_READY_AGENT && !def->guest_agent)
                ERR(c, "session", "ready",
                    "agent needs the guest agent's port; expected [guest] agent = yes");
        if (def->ready == VMDEF_READY_TCP && !def->ready_host && !def->guest_agent)
                ERR(c, "session", "ready",
                    "tcp:PORT asks the guest agent for the guest's address; expected [guest] agent = yes, or tcp:HOST:PORT");
        if (def->ready == VMDEF_READY_RUNNING && given(c, "session", "ready_timeout"))
                WARN(c, "session", "ready_timeout",
                     "ignored because ready = running; set ready = agent or tcp:... to use it");
        bool mac = false;
        for (size_t i = 0; i < def->n_nets; i++)
                mac = mac || def->nets[i].mac;
        if (def->wake_on_lan && !mac)
                ERR(c, "session", "wake_on_lan",
                    "a magic packet names a MAC and no [net.ID] has one; expected mac = 52:54:00:... in a [net.ID]");
}

int vmdef_finish_and_validate(struct vm_def *def, const struct vmdef_ini *ini,
                              struct vmdef_diags *diags)
{
        struct checker c = {.def = def, .ini = ini, .diags = diags};
        int r;
        if ((r = check_name(&c)) < 0)
                return r;
        if ((r = finish_memory(&c)) < 0 || (r = finish_firmware(&c)) < 0)
                return r;
        check_boot(&c);
        check_qemu(&c);
        check_qemu_user(&c);
        check_cpu(&c);
        check_hyperv(&c);
        check_disks(&c);
        check_gpu(&c);
        check_usb_evdev_net(&c);
        check_session(&c);
        if ((r = finish_host(&c)) < 0 || (r = finish_tpm(&c)) < 0)
                return r;
        return 0;
}
