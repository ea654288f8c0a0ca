/* The sections and keys of a definition: one table entry per key, with its type and
 * where its value goes. Defaults live in vmdef_set_defaults below; defaults that depend
 * on other keys are set in validate.c; the custom value parsers are in key_parsers.c.
 * Keep doc/vmlaunch.ini.5.scd in step. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/macro.h"
#include "util/strv.h"
#include "vmdefs/internal.h"
#include "vmdefs/key_parsers.h"

/* ---- section kinds ---- */

enum kind {
        K_VM,
        K_QEMU,
        K_MEMORY,
        K_FIRMWARE,
        K_BOOT,
        K_CPU,
        K_HYPERV,
        K_IOTHREADS,
        K_GPU,
        K_HOST,
        K_HOOKS,
        K_SMBIOS,
        K_TPM,
        K_GUEST,
        K_SESSION,
        K_DISK, /* kinds from here on take an ID: [disk.ID] */
        K_USB,
        K_EVDEV,
        K_NET,
        K_COUNT
};

static const char *const kind_names[K_COUNT] = {
        "vm",        "qemu", "memory", "firmware", "boot",   "cpu", "hyperv",
        "iothreads", "gpu",  "host",   "hooks",    "smbios", "tpm", "guest",
        "session",   "disk", "usb",    "evdev",    "net",
};

static bool kind_has_id(enum kind k)
{
        return k >= K_DISK;
}

static int kind_lookup(const char *name, size_t n)
{
        for (int k = 0; k < K_COUNT; k++)
                if (strlen(kind_names[k]) == n && !strncmp(kind_names[k], name, n))
                        return k;
        return -1;
}

static const char *section_list(void)
{
        return "[vm], [qemu], [memory], [firmware], [boot], [cpu], [hyperv], [iothreads], [gpu], [host], [hooks], [smbios], [tpm], [guest], [session], [disk.ID], [usb.ID], [evdev.ID], [net.ID]";
}

bool vmdef_section_known(const char *name, unsigned line, struct vmdef_diags *diags)
{
        const char *dot = strchr(name, '.');
        size_t kn = dot ? (size_t)(dot - name) : strlen(name);
        int k = kind_lookup(name, kn);

        if (k < 0) {
                char kind[64];
                snprintf(kind, sizeof(kind), "%.*s", (int)(kn < 63 ? kn : 63), name);
                for (int c = 0; c < K_COUNT; c++) {
                        if (!vmdef_is_close(kind, kind_names[c]))
                                continue;
                        if (kind_has_id((enum kind)c))
                                vmdef_diag_add(diags, VMDEF_ERROR, line, name, NULL,
                                               "unknown section; did you mean `[%s.%s]`?",
                                               kind_names[c], dot ? dot + 1 : "ID");
                        else
                                vmdef_diag_add(diags, VMDEF_ERROR, line, name, NULL,
                                               "unknown section; did you mean `[%s]`?",
                                               kind_names[c]);
                        return false;
                }
                vmdef_diag_add(diags, VMDEF_ERROR, line, name, NULL,
                               "unknown section; expected one of %s", section_list());
                return false;
        }
        if (!kind_has_id((enum kind)k)) {
                if (dot) {
                        vmdef_diag_add(diags, VMDEF_ERROR, line, name, NULL,
                                       "[%s] takes no ID; expected `[%s]`", kind_names[k],
                                       kind_names[k]);
                        return false;
                }
                return true;
        }
        if (!dot || !dot[1]) {
                vmdef_diag_add(diags, VMDEF_ERROR, line, name, NULL,
                               "missing ID; expected `[%s.ID]`, e.g. [%s.%s]", kind_names[k],
                               kind_names[k],
                               k == K_DISK    ? "system"
                               : k == K_USB   ? "keyboard"
                               : k == K_EVDEV ? "mouse"
                                              : "lan");
                return false;
        }
        if (!vmdef_id_valid(dot + 1)) {
                vmdef_diag_add(
                        diags, VMDEF_ERROR, line, name, NULL,
                        "invalid ID \"%s\"; expected a letter followed by letters, digits, '-', '_' or '.'",
                        dot + 1);
                return false;
        }
        size_t max = k == K_DISK ? VMDEF_DISK_ID_MAX : VMDEF_DEVICE_ID_MAX;
        if (strlen(dot + 1) > max) {
                vmdef_diag_add(diags, VMDEF_ERROR, line, name, NULL,
                               "ID \"%s\" is %zu characters; expected at most %zu (%s)", dot + 1,
                               strlen(dot + 1), max,
                               k == K_DISK ? "QEMU's node names \"disk-ID-storage\" hold 31"
                                           : "it becomes part of a QEMU id");
                return false;
        }
        return true;
}

/* ---- value types ---- */

enum key_type {
        T_STRING, /* char *, any non-empty text */
        T_TEXT,   /* char *, any text, may be empty */
        T_PATH,   /* char *, absolute path */
        T_BOOL,
        T_UINT, /* unsigned, min..max */
        T_SIZE, /* uint64_t bytes */
        T_CPULIST,
        T_ENUM, /* int-sized enum, names[] in value order */
        T_CUSTOM,
};

typedef int (*custom_parse_fn)(const char *value, void *target, char *why, size_t why_len);

struct key_def {
        enum kind kind;
        const char *key;
        enum key_type type;
        size_t offset; /* into struct vm_def, or the element struct of kind.ID sections */
        unsigned min, max;
        const char *const *names; /* T_ENUM, NULL-terminated */
        custom_parse_fn parse;
};

/* ---- the table ---- */

static const char *const accel_names[] = {"auto", "kvm", "tcg", NULL};
static const char *const firmware_names[] = {"uefi", "bios", NULL};
static const char *const format_names[] = {"qcow2", "raw", NULL};
static const char *const bus_names[] = {"virtio-blk", "virtio-scsi", "sata", NULL};
static const char *const media_names[] = {"disk", "cdrom", NULL};
static const char *const cache_names[] = {"none",       "writeback", "writethrough",
                                          "directsync", "unsafe",    NULL};
static const char *const aio_names[] = {"native", "threads", "io_uring", NULL};
static const char *const discard_names[] = {"unmap", "ignore", NULL};
static const char *const net_mode_names[] = {"user", "bridge", NULL};
static const char *const auto_off_names[] = {"auto", "off", NULL};
static const char *const governor_cpus_names[] = {"pinned", "all", NULL};
static const char *const pit_policy_names[] = {"auto", "delay", "discard", NULL};
static const char *const smbios_mode_names[] = {"none", "host", NULL};

#define DEF(field)   offsetof(struct vm_def, field)
#define HV(field)    offsetof(struct vm_def, hyperv.field)
#define DISK(field)  offsetof(struct vmdef_disk, field)
#define EVDEV(field) offsetof(struct vmdef_evdev, field)
#define NET(field)   offsetof(struct vmdef_net, field)
#define CUSTOM(k, name, fn)                                                                        \
        {                                                                                          \
                k, name, T_CUSTOM, 0, 0, 0, NULL, fn                                               \
        }
#define TYPED(k, name, type, off)                                                                  \
        {                                                                                          \
                k, name, type, off, 0, 0, NULL, NULL                                               \
        }
#define RANGED(k, name, off, lo, hi)                                                               \
        {                                                                                          \
                k, name, T_UINT, off, lo, hi, NULL, NULL                                           \
        }
#define ENUMK(k, name, off, names)                                                                 \
        {                                                                                          \
                k, name, T_ENUM, off, 0, 0, names, NULL                                            \
        }

static const struct key_def keys[] = {
        CUSTOM(K_VM, "name", vmdef_key_name),
        TYPED(K_VM, "description", T_TEXT, DEF(description)),

        CUSTOM(K_QEMU, "binary", vmdef_key_binary),
        CUSTOM(K_QEMU, "machine", vmdef_key_machine),
        ENUMK(K_QEMU, "accel", DEF(accel), accel_names),
        CUSTOM(K_QEMU, "display", vmdef_key_display),
        TYPED(K_QEMU, "vnc_password_file", T_PATH, DEF(vnc_password_file)),
        CUSTOM(K_QEMU, "vga", vmdef_key_vga),
        CUSTOM(K_QEMU, "serial", vmdef_key_serial),
        CUSTOM(K_QEMU, "args", vmdef_key_args),
        RANGED(K_QEMU, "shutdown_timeout", DEF(shutdown_timeout_s), 1, 3600),
        CUSTOM(K_QEMU, "user", vmdef_key_qemu_user),
        TYPED(K_QEMU, "sandbox", T_BOOL, DEF(qemu_sandbox)),
        ENUMK(K_QEMU, "pit_lost_tick_policy", DEF(pit_policy), pit_policy_names),
        CUSTOM(K_QEMU, "suspend_to_ram", vmdef_key_suspend_to_ram),
        CUSTOM(K_QEMU, "suspend_to_disk", vmdef_key_suspend_to_disk),

        TYPED(K_MEMORY, "size", T_SIZE, DEF(memory_bytes)),
        CUSTOM(K_MEMORY, "hugepages", vmdef_key_hugepages),
        TYPED(K_MEMORY, "prealloc", T_BOOL, DEF(prealloc)),
        RANGED(K_MEMORY, "prealloc_threads", DEF(prealloc_threads), 1, 1024),
        TYPED(K_MEMORY, "allocate_hugepages", T_BOOL, DEF(allocate_hugepages)),

        ENUMK(K_FIRMWARE, "type", DEF(firmware), firmware_names),
        TYPED(K_FIRMWARE, "secure_boot", T_BOOL, DEF(secure_boot)),
        TYPED(K_FIRMWARE, "code", T_PATH, DEF(ovmf_code)),
        TYPED(K_FIRMWARE, "vars_template", T_PATH, DEF(ovmf_vars_template)),
        TYPED(K_FIRMWARE, "vars", T_PATH, DEF(ovmf_vars)),

        TYPED(K_BOOT, "kernel", T_PATH, DEF(kernel)),
        TYPED(K_BOOT, "initrd", T_PATH, DEF(initrd)),
        TYPED(K_BOOT, "cmdline", T_TEXT, DEF(cmdline)),

        CUSTOM(K_CPU, "model", vmdef_key_model),
        RANGED(K_CPU, "sockets", DEF(sockets), 1, 64),
        RANGED(K_CPU, "dies", DEF(dies), 1, 64),
        RANGED(K_CPU, "cores", DEF(cores), 1, 255),
        RANGED(K_CPU, "threads", DEF(threads), 1, 8),
        TYPED(K_CPU, "topoext", T_BOOL, DEF(topoext)),
        TYPED(K_CPU, "cache_passthrough", T_BOOL, DEF(cache_passthrough)),
        TYPED(K_CPU, "kvm_hidden", T_BOOL, DEF(kvm_hidden)),
        CUSTOM(K_CPU, "flags", vmdef_key_cpu_flags),
        CUSTOM(K_CPU, "vcpu_pin", vmdef_key_vcpu_pin),
        TYPED(K_CPU, "emulator_pin", T_CPULIST, DEF(emulator_pin)),

        TYPED(K_HYPERV, "enabled", T_BOOL, HV(enabled)),
        TYPED(K_HYPERV, "relaxed", T_BOOL, HV(relaxed)),
        TYPED(K_HYPERV, "vapic", T_BOOL, HV(vapic)),
        CUSTOM(K_HYPERV, "spinlocks", vmdef_key_spinlocks),
        TYPED(K_HYPERV, "vpindex", T_BOOL, HV(vpindex)),
        TYPED(K_HYPERV, "runtime", T_BOOL, HV(runtime)),
        TYPED(K_HYPERV, "time", T_BOOL, HV(time)),
        TYPED(K_HYPERV, "synic", T_BOOL, HV(synic)),
        TYPED(K_HYPERV, "stimer", T_BOOL, HV(stimer)),
        TYPED(K_HYPERV, "stimer_direct", T_BOOL, HV(stimer_direct)),
        TYPED(K_HYPERV, "reset", T_BOOL, HV(reset)),
        CUSTOM(K_HYPERV, "vendor_id", vmdef_key_vendor_id),
        TYPED(K_HYPERV, "frequencies", T_BOOL, HV(frequencies)),
        TYPED(K_HYPERV, "reenlightenment", T_BOOL, HV(reenlightenment)),
        TYPED(K_HYPERV, "tlbflush", T_BOOL, HV(tlbflush)),
        TYPED(K_HYPERV, "tlbflush_ext", T_BOOL, HV(tlbflush_ext)),
        TYPED(K_HYPERV, "tlbflush_direct", T_BOOL, HV(tlbflush_direct)),
        TYPED(K_HYPERV, "ipi", T_BOOL, HV(ipi)),
        TYPED(K_HYPERV, "evmcs", T_BOOL, HV(evmcs)),
        TYPED(K_HYPERV, "avic", T_BOOL, HV(avic)),
        TYPED(K_HYPERV, "xmm_input", T_BOOL, HV(xmm_input)),
        TYPED(K_HYPERV, "emsr_bitmap", T_BOOL, HV(emsr_bitmap)),

        CUSTOM(K_GPU, "address", vmdef_key_gpu_address),
        TYPED(K_GPU, "romfile", T_PATH, DEF(gpu_romfile)),
        CUSTOM(K_GPU, "group", vmdef_key_gpu_group),
        CUSTOM(K_GPU, "reset_method", vmdef_key_gpu_reset_method),

        TYPED(K_DISK, "path", T_PATH, DISK(path)),
        ENUMK(K_DISK, "format", DISK(format), format_names),
        ENUMK(K_DISK, "bus", DISK(bus), bus_names),
        ENUMK(K_DISK, "media", DISK(media), media_names),
        CUSTOM(K_DISK, "iothread", vmdef_key_disk_iothread),
        RANGED(K_DISK, "boot", DISK(boot), 0, 99),
        ENUMK(K_DISK, "cache", DISK(cache), cache_names),
        ENUMK(K_DISK, "aio", DISK(aio), aio_names),
        ENUMK(K_DISK, "discard", DISK(discard), discard_names),
        TYPED(K_DISK, "readonly", T_BOOL, DISK(readonly)),
        CUSTOM(K_DISK, "serial", vmdef_key_disk_serial),

        CUSTOM(K_USB, "vendor", vmdef_key_usb_vendor),
        CUSTOM(K_USB, "product", vmdef_key_usb_product),

        TYPED(K_EVDEV, "path", T_PATH, EVDEV(path)),
        TYPED(K_EVDEV, "grab_all", T_BOOL, EVDEV(grab_all)),
        TYPED(K_EVDEV, "repeat", T_BOOL, EVDEV(repeat)),
        CUSTOM(K_EVDEV, "grab_toggle", vmdef_key_grab_toggle),

        ENUMK(K_NET, "mode", NET(mode), net_mode_names),
        CUSTOM(K_NET, "bridge", vmdef_key_bridge),
        CUSTOM(K_NET, "model", vmdef_key_net_model),
        CUSTOM(K_NET, "mac", vmdef_key_mac),

        CUSTOM(K_HOST, "stop_units", vmdef_key_stop_units),
        ENUMK(K_HOST, "vtconsoles", DEF(vtconsoles), auto_off_names),
        ENUMK(K_HOST, "framebuffer", DEF(framebuffer), auto_off_names),
        CUSTOM(K_HOST, "unload_modules", vmdef_key_unload_modules),
        CUSTOM(K_HOST, "governor", vmdef_key_governor),
        ENUMK(K_HOST, "governor_cpus", DEF(governor_cpus), governor_cpus_names),
        TYPED(K_HOST, "isolate_cpus", T_BOOL, DEF(isolate_cpus)),

        TYPED(K_HOOKS, "dir", T_PATH, DEF(hooks_dir)),
        RANGED(K_HOOKS, "timeout", DEF(hooks_timeout_s), 1, 3600),

        ENUMK(K_SMBIOS, "mode", DEF(smbios_mode), smbios_mode_names),

        TYPED(K_TPM, "enabled", T_BOOL, DEF(tpm_enabled)),
        TYPED(K_TPM, "state_dir", T_PATH, DEF(tpm_state_dir)),

        TYPED(K_GUEST, "agent", T_BOOL, DEF(guest_agent)),

        CUSTOM(K_SESSION, "ready", vmdef_key_session_ready),
        RANGED(K_SESSION, "ready_timeout", DEF(ready_timeout_s), 0, 86400),
        TYPED(K_SESSION, "wake_on_lan", T_BOOL, DEF(wake_on_lan)),
};

#define N_KEYS (ELEMENTSOF(keys))

/* ---- defaults ---- */

/* Sets *field to a copy of value; false when out of memory. */
static bool set_default(char **field, const char *value)
{
        *field = strdup(value);
        return *field != NULL;
}

int vmdef_set_defaults(struct vm_def *def)
{
        def->accel = VMDEF_ACCEL_AUTO;
        def->shutdown_timeout_s = 120;
        def->hooks_timeout_s = 120;
        def->qemu_sandbox = true;
        def->ready = VMDEF_READY_RUNNING;
        def->ready_timeout_s = 300;

        def->memory_bytes = 4ull << 30;
        def->allocate_hugepages = true;

        def->firmware = VMDEF_FIRMWARE_UEFI;

        def->sockets = def->dies = 1;
        def->cores = 2;
        def->threads = 1;

        struct vmdef_hyperv *hv = &def->hyperv;
        hv->enabled = true;
        hv->relaxed = hv->vapic = hv->vpindex = hv->runtime = hv->time = true;
        hv->synic = hv->stimer = hv->reset = hv->frequencies = true;
        hv->tlbflush = hv->ipi = true;
        hv->spinlocks = 8191;

        def->vtconsoles = def->framebuffer = VMDEF_AUTO;
        def->modules_mode = VMDEF_MODULES_AUTO;
        def->governor_cpus = VMDEF_GOVERNOR_PINNED;

        /* Validation and the QEMU command line rely on these never being NULL. What was
         * copied before a failure is freed with the definition. */
        bool ok = set_default(&def->qemu_binary, VMDEF_DEFAULT_QEMU_BINARY) &&
                  set_default(&def->qemu_user, VMDEF_DEFAULT_QEMU_USER) &&
                  set_default(&def->machine, "q35") && set_default(&def->display, "none") &&
                  set_default(&def->vga, "none") && set_default(&def->serial, "none") &&
                  set_default(&def->cpu_model, "host") &&
                  set_default(&def->governor, "performance");
        return ok ? 0 : -ENOMEM;
}

static void disk_defaults(struct vmdef_disk *d)
{
        d->format = VMDEF_FORMAT_RAW; /* qcow2 for *.qcow2: see validate.c */
        d->bus = VMDEF_BUS_VIRTIO_BLK;
        d->cache = VMDEF_CACHE_NONE;
        d->aio = VMDEF_AIO_NATIVE;
        d->discard = VMDEF_DISCARD_UNMAP;
}

static int evdev_defaults(struct vmdef_evdev *e)
{
        e->grab_toggle = strdup("ctrl-ctrl");
        return e->grab_toggle ? 0 : -ENOMEM;
}

static int net_defaults(struct vmdef_net *n)
{
        n->mode = VMDEF_NET_USER;
        n->model = strdup("virtio-net-pci");
        return n->model ? 0 : -ENOMEM;
}

/* ---- applying entries ---- */

static int apply_typed(const struct key_def *k, const char *v, void *target, char *why,
                       size_t why_len)
{
        void *field = (char *)target + k->offset;
        char *end;
        switch (k->type) {
        case T_STRING:
                if (!*v)
                        return vmdef_why(why, why_len, "empty; expected a value");
                return vmdef_set_string(field, v);
        case T_TEXT:
                return vmdef_set_string(field, v);
        case T_PATH:
                if (v[0] != '/')
                        return vmdef_why(why, why_len,
                                         "not an absolute path; expected a path starting with /");
                return vmdef_set_string(field, v);
        case T_BOOL:
                return vmdef_parse_bool(v, field, why, why_len);
        case T_UINT: {
                errno = 0;
                unsigned long n = strtoul(v, &end, 10);
                if (!isdigit((unsigned char)v[0]) || *end || errno || n < k->min || n > k->max)
                        return vmdef_why(why, why_len, "expected a whole number from %u to %u",
                                         k->min, k->max);
                *(unsigned *)field = (unsigned)n;
                return 0;
        }
        case T_SIZE:
                return vmdef_parse_size(v, field, why, why_len);
        case T_CPULIST: {
                struct vmdef_cpulist l;
                int r = vmdef_parse_cpulist(v, &l, why, why_len);
                if (r < 0)
                        return r;
                vmdef_cpulist_free(field);
                *(struct vmdef_cpulist *)field = l;
                return 0;
        }
        case T_ENUM: {
                char list[256] = "";
                for (int i = 0; k->names[i]; i++) {
                        if (streq(v, k->names[i])) {
                                *(int *)field = i;
                                return 0;
                        }
                        size_t used = strlen(list);
                        snprintf(list + used, sizeof(list) - used, "%s%s",
                                 !i                ? ""
                                 : k->names[i + 1] ? ", "
                                                   : " or ",
                                 k->names[i]);
                }
                return vmdef_why(why, why_len, "expected %s", list);
        }
        case T_CUSTOM:
                return k->parse(v, target, why, why_len);
        }
        return -EINVAL;
}

static const struct key_def *key_lookup(enum kind kind, const char *key)
{
        for (size_t i = 0; i < N_KEYS; i++)
                if (keys[i].kind == kind && streq(keys[i].key, key))
                        return &keys[i];
        return NULL;
}

static void report_unknown_key(enum kind kind, const char *section, const struct vmdef_ini_entry *e,
                               struct vmdef_diags *diags)
{
        const struct key_def *best = NULL;
        size_t best_d = SIZE_MAX;
        for (size_t i = 0; i < N_KEYS; i++) {
                if (keys[i].kind != kind || !vmdef_is_close(e->key, keys[i].key))
                        continue;
                size_t d = vmdef_edit_distance(e->key, keys[i].key);
                if (d < best_d)
                        best = &keys[i], best_d = d;
        }
        if (best) {
                vmdef_diag_add(diags, VMDEF_ERROR, e->line, section, e->key,
                               "unknown key; did you mean `%s`?", best->key);
                return;
        }
        for (size_t i = 0; i < N_KEYS; i++) {
                if (strcmp(keys[i].key, e->key))
                        continue;
                vmdef_diag_add(diags, VMDEF_ERROR, e->line, section, e->key,
                               "unknown key in this section; `%s` belongs in [%s%s]", e->key,
                               kind_names[keys[i].kind], kind_has_id(keys[i].kind) ? ".ID" : "");
                return;
        }
        char list[512] = "";
        for (size_t i = 0; i < N_KEYS; i++) {
                if (keys[i].kind != kind)
                        continue;
                size_t used = strlen(list);
                snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", keys[i].key);
        }
        vmdef_diag_add(diags, VMDEF_ERROR, e->line, section, e->key,
                       "unknown key; expected one of %s", list);
}

static void report_bad_value(const struct vmdef_ini_entry *e, const char *section, const char *why,
                             struct vmdef_diags *diags)
{
        char shown[80];
        vmdef_quote_value(e->value, shown, sizeof(shown));
        vmdef_diag_add(diags, VMDEF_ERROR, e->line, section, e->key, "\"%s\": %s", shown, why);
}

/* [iothreads]: every key is an iothread ID, its value a CPU list or nothing. */
static int apply_iothread(struct vm_def *def, const char *section, const struct vmdef_ini_entry *e,
                          struct vmdef_diags *diags)
{
        char why[VMDEF_WHY_LEN];
        struct vmdef_cpulist pin = {0};
        if (!vmdef_id_valid(e->key)) {
                vmdef_diag_add(
                        diags, VMDEF_ERROR, e->line, section, e->key,
                        "invalid iothread ID; expected a letter followed by letters, digits, '-', '_' or '.'");
                return 0;
        }
        if (strlen(e->key) > VMDEF_IOTHREAD_ID_MAX) {
                vmdef_diag_add(diags, VMDEF_ERROR, e->line, section, e->key,
                               "iothread ID is %zu characters; expected at most %d", strlen(e->key),
                               VMDEF_IOTHREAD_ID_MAX);
                return 0;
        }
        if (*e->value) {
                int r = vmdef_parse_cpulist(e->value, &pin, why, sizeof(why));
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        report_bad_value(e, section, why, diags);
                        return 0;
                }
        }
        struct vmdef_iothread *t = realloc(def->iothreads, (def->n_iothreads + 1) * sizeof(*t));
        if (!t) {
                vmdef_cpulist_free(&pin);
                return -ENOMEM;
        }
        def->iothreads = t;
        t = &def->iothreads[def->n_iothreads];
        if (!(t->id = strdup(e->key))) {
                vmdef_cpulist_free(&pin);
                return -ENOMEM;
        }
        t->pin = pin;
        t->line = e->line;
        def->n_iothreads++;
        return 0;
}

/* Appends a zeroed element to one of the kind.ID arrays; returns it or NULL. */
static void *element_new(void **array, size_t *count, size_t size)
{
        char *a = realloc(*array, (*count + 1) * size);
        if (!a)
                return NULL;
        *array = a;
        memset(a + *count * size, 0, size);
        return a + (*count)++ * size;
}

/* Creates the element a kind.ID section describes; returns where its keys go. */
static int section_target(struct vm_def *def, enum kind kind, const char *id, unsigned line,
                          void **target)
{
        char *copy = strdup(id);
        int r = 0;
        if (!copy)
                return -ENOMEM;
        switch (kind) {
        case K_DISK: {
                struct vmdef_disk *d = element_new((void **)&def->disks, &def->n_disks, sizeof(*d));
                if (!d)
                        break;
                disk_defaults(d);
                d->id = TAKE_PTR(copy), d->line = line, *target = d;
                return 0;
        }
        case K_USB: {
                struct vmdef_usb *u = element_new((void **)&def->usb, &def->n_usb, sizeof(*u));
                if (!u)
                        break;
                u->id = TAKE_PTR(copy), u->line = line, *target = u;
                return 0;
        }
        case K_EVDEV: {
                struct vmdef_evdev *e =
                        element_new((void **)&def->evdev, &def->n_evdev, sizeof(*e));
                if (!e)
                        break;
                e->id = TAKE_PTR(copy), e->line = line, *target = e;
                r = evdev_defaults(e);
                return r;
        }
        case K_NET: {
                struct vmdef_net *n = element_new((void **)&def->nets, &def->n_nets, sizeof(*n));
                if (!n)
                        break;
                n->id = TAKE_PTR(copy), n->line = line, *target = n;
                return net_defaults(n);
        }
        default:
                free(copy);
                *target = def;
                return 0;
        }
        free(copy);
        return -ENOMEM;
}

static int apply_section(const struct vmdef_ini *ini, size_t s, struct vm_def *def,
                         struct vmdef_diags *diags)
{
        const struct vmdef_ini_section *sec = &ini->sections[s];
        const char *dot = strchr(sec->name, '.');
        enum kind kind = (enum kind)kind_lookup(sec->name, dot ? (size_t)(dot - sec->name)
                                                               : strlen(sec->name));
        void *target;
        int r = section_target(def, kind, dot ? dot + 1 : "", sec->line, &target);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ini->n_entries; i++) {
                const struct vmdef_ini_entry *e = &ini->entries[i];
                if (e->section != s)
                        continue;
                const struct vmdef_ini_entry *earlier = NULL;
                for (size_t j = 0; j < i && !earlier; j++)
                        if (ini->entries[j].section == s && streq(ini->entries[j].key, e->key))
                                earlier = &ini->entries[j];
                if (earlier) {
                        vmdef_diag_add(
                                diags, VMDEF_ERROR, e->line, sec->name, e->key,
                                "given twice (first at line %u); expected each key once per section",
                                earlier->line);
                        continue;
                }
                if (kind == K_IOTHREADS) {
                        if ((r = apply_iothread(def, sec->name, e, diags)) < 0)
                                return r;
                        continue;
                }
                const struct key_def *k = key_lookup(kind, e->key);
                if (!k) {
                        report_unknown_key(kind, sec->name, e, diags);
                        continue;
                }
                char why[VMDEF_WHY_LEN] = "";
                r = apply_typed(k, e->value, target, why, sizeof(why));
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        report_bad_value(e, sec->name, why, diags);
        }
        return 0;
}

int vmdef_apply_ini(const struct vmdef_ini *ini, struct vm_def *def, struct vmdef_diags *diags)
{
        for (size_t s = 0; s < ini->n_sections; s++) {
                if (ini->sections[s].ignored)
                        continue;
                int r = apply_section(ini, s, def, diags);
                if (r < 0)
                        return r;
        }
        return 0;
}
