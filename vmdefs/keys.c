/* The sections and keys of a definition: one table entry per key, with its type and
 * where its value goes. Defaults live in vmdef_set_defaults below; defaults that depend
 * on other keys are set in validate.c. Keep doc/vmlaunch.ini.5.scd in step. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/strv.h"
#include "vmdefs/internal.h"

#define WHY_LEN 384

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
        K_DISK, /* kinds from here on take an ID: [disk.ID] */
        K_USB,
        K_EVDEV,
        K_NET,
        K_COUNT
};

static const char *const kind_names[K_COUNT] = {
        "vm",  "qemu", "memory", "firmware", "boot", "cpu",   "hyperv", "iothreads",
        "gpu", "host", "hooks",  "disk",     "usb",  "evdev", "net",
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
        return "[vm], [qemu], [memory], [firmware], [boot], [cpu], [hyperv], [iothreads], [gpu], [host], [hooks], [disk.ID], [usb.ID], [evdev.ID], [net.ID]";
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

static int fail(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_len, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool chars_in(const char *s, const char *extra)
{
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
                        return false;
        return true;
}

static int set_string(char **field, const char *value)
{
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* Splits on commas and blanks. */
static int split_list(const char *value, struct vl_strv *out)
{
        const char *p = value;
        while (*p) {
                size_t n = strcspn(p, ", \t");
                if (n) {
                        char *w = strndup(p, n);
                        if (!w)
                                return -ENOMEM;
                        int r = vl_strv_push(out, w);
                        free(w);
                        if (r < 0)
                                return r;
                }
                p += n;
                p += strspn(p, ", \t");
        }
        return 0;
}

static void strv_move(struct vl_strv *from, char ***items, size_t *count)
{
        for (size_t i = 0; *items && (*items)[i]; i++)
                free((*items)[i]);
        free(*items);
        *items = from->items;
        *count = from->count;
        memset(from, 0, sizeof(*from));
}

/* Shell-like words: blanks separate, '...' is literal, "..." allows \" and \\, a
 * backslash outside quotes escapes the next character. No expansion of any kind. */
static int split_words(const char *value, struct vl_strv *out, char *why, size_t why_len)
{
        size_t len = strlen(value);
        char *word = malloc(len + 1);
        if (!word)
                return -ENOMEM;
        const char *p = value;
        int r = 0;
        while (*p) {
                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                size_t n = 0;
                while (*p && *p != ' ' && *p != '\t') {
                        if (*p == '\'') {
                                const char *end = strchr(p + 1, '\'');
                                if (!end) {
                                        r = fail(why, why_len,
                                                 "unterminated single quote; expected a closing '");
                                        goto out;
                                }
                                memcpy(word + n, p + 1, (size_t)(end - p - 1));
                                n += (size_t)(end - p - 1);
                                p = end + 1;
                        } else if (*p == '"') {
                                p++;
                                while (*p && *p != '"') {
                                        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                                p++;
                                        word[n++] = *p++;
                                }
                                if (!*p) {
                                        r = fail(
                                                why, why_len,
                                                "unterminated double quote; expected a closing \"");
                                        goto out;
                                }
                                p++;
                        } else if (*p == '\\' && p[1]) {
                                word[n++] = p[1];
                                p += 2;
                        } else {
                                word[n++] = *p++;
                        }
                }
                word[n] = '\0';
                if ((r = vl_strv_push(out, word)) < 0)
                        goto out;
        }
out:
        free(word);
        return r;
}

/* ---- custom parsers ---- */

static int parse_name(const char *v, void *t, char *why, size_t why_len)
{
        if (strlen(v) > 64 || !isalnum((unsigned char)v[0]) || !chars_in(v, "_.-"))
                return fail(
                        why, why_len,
                        "not a usable VM name; expected 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit (it names files and units)");
        return set_string(&((struct vm_def *)t)->name, v);
}

static int parse_binary(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || (strchr(v, '/') && v[0] != '/'))
                return fail(why, why_len,
                            "expected an absolute path or a program name found in PATH");
        return set_string(&((struct vm_def *)t)->qemu_binary, v);
}

static int parse_machine(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || strlen(v) > 64 || !chars_in(v, "_.-"))
                return fail(
                        why, why_len,
                        "expected a QEMU machine type such as q35 or pc-q35-7.2 (letters, digits, '.', '-', '_')");
        return set_string(&((struct vm_def *)t)->machine, v);
}

static int parse_display(const char *v, void *t, char *why, size_t why_len)
{
        unsigned n;
        char end;
        bool vnc = sscanf(v, "vnc=:%u%c", &n, &end) == 1 && n < 100 && isdigit((unsigned char)v[5]);
        if (strcmp(v, "none") && strcmp(v, "gtk") && strcmp(v, "sdl") && !vnc)
                return fail(why, why_len, "expected none, gtk, sdl or vnc=:N (N from 0 to 99)");
        return set_string(&((struct vm_def *)t)->display, v);
}

static int parse_vga(const char *v, void *t, char *why, size_t why_len)
{
        if (strcmp(v, "none") && strcmp(v, "std") && strcmp(v, "virtio"))
                return fail(why, why_len, "expected none, std or virtio");
        return set_string(&((struct vm_def *)t)->vga, v);
}

static int parse_serial(const char *v, void *t, char *why, size_t why_len)
{
        if (strcmp(v, "none") && strcmp(v, "pty") && v[0] != '/')
                return fail(why, why_len, "expected none, pty or an absolute path");
        return set_string(&((struct vm_def *)t)->serial, v);
}

static int parse_args(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        struct vl_strv words = {0};
        int r = split_words(v, &words, why, why_len);
        if (r < 0) {
                vl_strv_free(&words);
                return r;
        }
        strv_move(&words, &def->extra_args, &def->n_extra_args);
        return 0;
}

static int parse_hugepages(const char *v, void *t, char *why, size_t why_len)
{
        uint64_t *bytes = &((struct vm_def *)t)->hugepage_bytes;
        uint64_t size;
        char ignored[8];
        if (!strcasecmp(v, "off") || !strcasecmp(v, "no")) {
                *bytes = 0;
                return 0;
        }
        if (vmdef_parse_size(v, &size, ignored, sizeof(ignored)) < 0 ||
            (size != 2u << 20 && size != 1u << 30))
                return fail(why, why_len, "not a hugepage size of x86-64; expected off, 2M or 1G");
        *bytes = size;
        return 0;
}

static int parse_model(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || strlen(v) > 64 || !chars_in(v, "_.-"))
                return fail(why, why_len,
                            "expected host or a QEMU CPU model such as EPYC-Rome or max");
        return set_string(&((struct vm_def *)t)->cpu_model, v);
}

static int parse_cpu_flags(const char *v, void *t, char *why, size_t why_len)
{
        struct vl_strv items = {0};
        int r = split_list(v, &items);
        for (size_t i = 0; r == 0 && i < items.count; i++) {
                const char *f = items.items[i];
                const char *eq = strchr(f, '=');
                bool ok = (f[0] == '+' || f[0] == '-')
                                  ? f[1] && !eq && chars_in(f + 1, "_.-")
                                  : eq && eq > f && eq[1] && chars_in(f, "_.-=");
                if (!ok)
                        r = fail(
                                why, why_len,
                                "\"%s\" is not a CPU flag; expected +flag, -flag or property=value, separated by commas",
                                f);
        }
        vl_strv_free(&items);
        if (r < 0)
                return r;
        return set_string(&((struct vm_def *)t)->cpu_flags, v);
}

static int parse_vcpu_pin(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        struct vmdef_cpulist l;
        if (!strcmp(v, "auto")) {
                vmdef_cpulist_free(&def->vcpu_pin);
                def->vcpu_pin_auto = true;
                return 0;
        }
        int r = vmdef_parse_cpulist(v, &l, why, why_len);
        if (r == -EINVAL && strlen(why) + 20 < why_len)
                strcat(why, ", or auto");
        if (r < 0)
                return r;
        vmdef_cpulist_free(&def->vcpu_pin);
        def->vcpu_pin = l;
        def->vcpu_pin_auto = false;
        return 0;
}

static int parse_spinlocks(const char *v, void *t, char *why, size_t why_len)
{
        unsigned *retries = &((struct vm_def *)t)->hyperv.spinlocks;
        char *end;
        if (!strcasecmp(v, "off") || !strcasecmp(v, "no")) {
                *retries = 0;
                return 0;
        }
        errno = 0;
        unsigned long n = strtoul(v, &end, 0);
        if (!isdigit((unsigned char)v[0]) || *end || errno || n < 4095 || n > 0xffffffffUL)
                return fail(why, why_len,
                            "expected a retry count from 4095 (0xfff) to 4294967295, or off");
        *retries = (unsigned)n;
        return 0;
}

static int parse_vendor_id(const char *v, void *t, char *why, size_t why_len)
{
        size_t n = strlen(v);
        bool printable = true;
        for (const char *p = v; *p; p++)
                printable &= *p > ' ' && *p < 0x7f;
        if (n < 1 || n > 12 || !printable)
                return fail(why, why_len,
                            "%s; expected 1 to 12 printable ASCII characters without spaces",
                            n > 12 ? "longer than 12 characters" : "unusable characters");
        return set_string(&((struct vm_def *)t)->hyperv.vendor_id, v);
}

static int parse_gpu_address(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        int r = vmdef_parse_pci_addr(v, &def->gpu_address, why, why_len);
        if (r == 0)
                def->has_gpu = true;
        return r;
}

static int parse_gpu_group(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        struct vl_strv items = {0};
        struct vmdef_pci_addr *addrs = NULL;
        int r = split_list(v, &items);
        if (r == 0 && !items.count)
                r = fail(why, why_len, "empty; expected PCI addresses like 06:00.0,06:00.1");
        if (r == 0 && !(addrs = calloc(items.count, sizeof(*addrs))))
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < items.count; i++) {
                char inner[WHY_LEN];
                if (vmdef_parse_pci_addr(items.items[i], &addrs[i], inner, sizeof(inner)) < 0) {
                        r = fail(why, why_len, "\"%s\": %s", items.items[i], inner);
                        break;
                }
                for (size_t j = 0; j < i; j++)
                        if (!memcmp(&addrs[i], &addrs[j], sizeof(addrs[i])))
                                r = fail(why, why_len,
                                         "%s is listed twice; expected each function once",
                                         items.items[i]);
        }
        if (r == 0) {
                free(def->gpu_group);
                def->gpu_group = TAKE_PTR(addrs);
                def->n_gpu_group = items.count;
        }
        free(addrs);
        vl_strv_free(&items);
        return r;
}

static int parse_hex16(const char *v, uint16_t *out, char *why, size_t why_len)
{
        const char *p = v;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                p += 2;
        size_t n = strlen(p);
        if (n < 1 || n > 4 || strspn(p, "0123456789abcdefABCDEF") != n)
                return fail(why, why_len,
                            "not a USB ID; expected 4 hex digits as shown by lsusb, e.g. 046d");
        *out = (uint16_t)strtoul(p, NULL, 16);
        return 0;
}

static int parse_usb_vendor(const char *v, void *t, char *why, size_t why_len)
{
        return parse_hex16(v, &((struct vmdef_usb *)t)->vendor, why, why_len);
}

static int parse_usb_product(const char *v, void *t, char *why, size_t why_len)
{
        return parse_hex16(v, &((struct vmdef_usb *)t)->product, why, why_len);
}

static int parse_grab_toggle(const char *v, void *t, char *why, size_t why_len)
{
        static const char *const toggles[] = {"ctrl-ctrl", "alt-alt",    "shift-shift",
                                              "meta-meta", "scrolllock", "ctrl-scrolllock",
                                              NULL};
        for (size_t i = 0; toggles[i]; i++)
                if (!strcmp(v, toggles[i]))
                        return set_string(&((struct vmdef_evdev *)t)->grab_toggle, v);
        return fail(
                why, why_len,
                "expected ctrl-ctrl, alt-alt, shift-shift, meta-meta, scrolllock or ctrl-scrolllock");
}

static int parse_bridge(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || strlen(v) > 15 || !chars_in(v, "_.-"))
                return fail(
                        why, why_len,
                        "not an interface name; expected 1 to 15 letters, digits, '_', '.' or '-', e.g. br0");
        return set_string(&((struct vmdef_net *)t)->bridge, v);
}

static int parse_net_model(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || strlen(v) > 64 || !chars_in(v, "_-"))
                return fail(why, why_len,
                            "expected a QEMU network device such as virtio-net-pci or e1000e");
        return set_string(&((struct vmdef_net *)t)->model, v);
}

static int parse_mac(const char *v, void *t, char *why, size_t why_len)
{
        unsigned b[6];
        char end;
        if (strlen(v) != 17 ||
            sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                   &end) != 6 ||
            strspn(v, "0123456789abcdefABCDEF:") != 17)
                return fail(why, why_len,
                            "not a MAC address; expected 6 hex bytes like 52:54:00:12:34:56");
        if (b[0] & 1)
                return fail(
                        why, why_len,
                        "a multicast address; expected a unicast MAC (first byte even), e.g. 52:54:00:12:34:56");
        return set_string(&((struct vmdef_net *)t)->mac, v);
}

static int parse_disk_serial(const char *v, void *t, char *why, size_t why_len)
{
        /* virtio-blk carries at most 20 bytes of serial (VIRTIO_BLK_ID_BYTES). */
        if (!*v || strlen(v) > 20 || !chars_in(v, "_.-"))
                return fail(why, why_len, "expected 1 to 20 letters, digits, '_', '.' or '-'");
        return set_string(&((struct vmdef_disk *)t)->serial, v);
}

static int parse_disk_iothread(const char *v, void *t, char *why, size_t why_len)
{
        if (!vmdef_id_valid(v))
                return fail(why, why_len, "expected the ID of a key in [iothreads]");
        return set_string(&((struct vmdef_disk *)t)->iothread, v);
}

static int parse_stop_units(const char *v, void *t, char *why, size_t why_len)
{
        static const char *const suffixes[] = {".service", ".target", ".socket", ".scope", ".slice",
                                               ".mount",   ".timer",  ".path",   NULL};
        struct vm_def *def = t;
        struct vl_strv units = {0};
        int r = split_list(v, &units);
        for (size_t i = 0; r == 0 && i < units.count; i++) {
                const char *u = units.items[i];
                const char *dot = strrchr(u, '.');
                bool suffix_ok = false;
                for (size_t s = 0; dot && suffixes[s]; s++)
                        suffix_ok |= !strcmp(dot, suffixes[s]);
                if (!suffix_ok || dot == u || strlen(u) > 255 || !chars_in(u, ":_.\\@-"))
                        r = fail(
                                why, why_len,
                                "\"%s\" is not a unit name; expected names with their type, e.g. display-manager.service, separated by commas",
                                u);
        }
        if (r == 0)
                strv_move(&units, &def->stop_units, &def->n_stop_units);
        vl_strv_free(&units);
        return r;
}

static int parse_unload_modules(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        struct vl_strv mods = {0};
        if (!strcmp(v, "auto") || !strcmp(v, "off")) {
                def->modules_mode = !strcmp(v, "auto") ? VMDEF_MODULES_AUTO : VMDEF_MODULES_OFF;
                strv_move(&mods, &def->unload_modules, &def->n_unload_modules);
                return 0;
        }
        int r = split_list(v, &mods);
        if (r == 0 && !mods.count)
                r = fail(why, why_len, "empty; expected auto, off or module names");
        for (size_t i = 0; r == 0 && i < mods.count; i++)
                if (strlen(mods.items[i]) > 55 || !chars_in(mods.items[i], "_-"))
                        r = fail(
                                why, why_len,
                                "\"%s\" is not a module name; expected auto, off or module names like nvidia_drm,nvidia_modeset,nvidia",
                                mods.items[i]);
        if (r == 0) {
                def->modules_mode = VMDEF_MODULES_LIST;
                strv_move(&mods, &def->unload_modules, &def->n_unload_modules);
        }
        vl_strv_free(&mods);
        return r;
}

static int parse_governor(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        if (!strcmp(v, "off")) {
                free(def->governor);
                def->governor = NULL;
                return 0;
        }
        if (!*v || strlen(v) > 15 || !chars_in(v, "_"))
                return fail(why, why_len,
                            "expected a cpufreq governor such as performance or schedutil, or off");
        return set_string(&def->governor, v);
}

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
        CUSTOM(K_VM, "name", parse_name),
        TYPED(K_VM, "description", T_TEXT, DEF(description)),

        CUSTOM(K_QEMU, "binary", parse_binary),
        CUSTOM(K_QEMU, "machine", parse_machine),
        ENUMK(K_QEMU, "accel", DEF(accel), accel_names),
        CUSTOM(K_QEMU, "display", parse_display),
        CUSTOM(K_QEMU, "vga", parse_vga),
        CUSTOM(K_QEMU, "serial", parse_serial),
        CUSTOM(K_QEMU, "args", parse_args),
        RANGED(K_QEMU, "shutdown_timeout", DEF(shutdown_timeout_s), 1, 3600),

        TYPED(K_MEMORY, "size", T_SIZE, DEF(memory_bytes)),
        CUSTOM(K_MEMORY, "hugepages", parse_hugepages),
        TYPED(K_MEMORY, "prealloc", T_BOOL, DEF(prealloc)),
        RANGED(K_MEMORY, "prealloc_threads", DEF(prealloc_threads), 1, 1024),
        TYPED(K_MEMORY, "allocate_hugepages", T_BOOL, DEF(allocate_hugepages)),

        ENUMK(K_FIRMWARE, "type", DEF(firmware), firmware_names),
        TYPED(K_FIRMWARE, "code", T_PATH, DEF(ovmf_code)),
        TYPED(K_FIRMWARE, "vars_template", T_PATH, DEF(ovmf_vars_template)),
        TYPED(K_FIRMWARE, "vars", T_PATH, DEF(ovmf_vars)),

        TYPED(K_BOOT, "kernel", T_PATH, DEF(kernel)),
        TYPED(K_BOOT, "initrd", T_PATH, DEF(initrd)),
        TYPED(K_BOOT, "cmdline", T_TEXT, DEF(cmdline)),

        CUSTOM(K_CPU, "model", parse_model),
        RANGED(K_CPU, "sockets", DEF(sockets), 1, 64),
        RANGED(K_CPU, "dies", DEF(dies), 1, 64),
        RANGED(K_CPU, "cores", DEF(cores), 1, 255),
        RANGED(K_CPU, "threads", DEF(threads), 1, 8),
        TYPED(K_CPU, "topoext", T_BOOL, DEF(topoext)),
        TYPED(K_CPU, "cache_passthrough", T_BOOL, DEF(cache_passthrough)),
        TYPED(K_CPU, "kvm_hidden", T_BOOL, DEF(kvm_hidden)),
        CUSTOM(K_CPU, "flags", parse_cpu_flags),
        CUSTOM(K_CPU, "vcpu_pin", parse_vcpu_pin),
        TYPED(K_CPU, "emulator_pin", T_CPULIST, DEF(emulator_pin)),

        TYPED(K_HYPERV, "enabled", T_BOOL, HV(enabled)),
        TYPED(K_HYPERV, "relaxed", T_BOOL, HV(relaxed)),
        TYPED(K_HYPERV, "vapic", T_BOOL, HV(vapic)),
        CUSTOM(K_HYPERV, "spinlocks", parse_spinlocks),
        TYPED(K_HYPERV, "vpindex", T_BOOL, HV(vpindex)),
        TYPED(K_HYPERV, "runtime", T_BOOL, HV(runtime)),
        TYPED(K_HYPERV, "time", T_BOOL, HV(time)),
        TYPED(K_HYPERV, "synic", T_BOOL, HV(synic)),
        TYPED(K_HYPERV, "stimer", T_BOOL, HV(stimer)),
        TYPED(K_HYPERV, "stimer_direct", T_BOOL, HV(stimer_direct)),
        TYPED(K_HYPERV, "reset", T_BOOL, HV(reset)),
        CUSTOM(K_HYPERV, "vendor_id", parse_vendor_id),
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

        CUSTOM(K_GPU, "address", parse_gpu_address),
        TYPED(K_GPU, "romfile", T_PATH, DEF(gpu_romfile)),
        CUSTOM(K_GPU, "group", parse_gpu_group),

        TYPED(K_DISK, "path", T_PATH, DISK(path)),
        ENUMK(K_DISK, "format", DISK(format), format_names),
        ENUMK(K_DISK, "bus", DISK(bus), bus_names),
        ENUMK(K_DISK, "media", DISK(media), media_names),
        CUSTOM(K_DISK, "iothread", parse_disk_iothread),
        RANGED(K_DISK, "boot", DISK(boot), 0, 99),
        ENUMK(K_DISK, "cache", DISK(cache), cache_names),
        ENUMK(K_DISK, "aio", DISK(aio), aio_names),
        ENUMK(K_DISK, "discard", DISK(discard), discard_names),
        TYPED(K_DISK, "readonly", T_BOOL, DISK(readonly)),
        CUSTOM(K_DISK, "serial", parse_disk_serial),

        CUSTOM(K_USB, "vendor", parse_usb_vendor),
        CUSTOM(K_USB, "product", parse_usb_product),

        TYPED(K_EVDEV, "path", T_PATH, EVDEV(path)),
        TYPED(K_EVDEV, "grab_all", T_BOOL, EVDEV(grab_all)),
        TYPED(K_EVDEV, "repeat", T_BOOL, EVDEV(repeat)),
        CUSTOM(K_EVDEV, "grab_toggle", parse_grab_toggle),

        ENUMK(K_NET, "mode", NET(mode), net_mode_names),
        CUSTOM(K_NET, "bridge", parse_bridge),
        CUSTOM(K_NET, "model", parse_net_model),
        CUSTOM(K_NET, "mac", parse_mac),

        CUSTOM(K_HOST, "stop_units", parse_stop_units),
        ENUMK(K_HOST, "vtconsoles", DEF(vtconsoles), auto_off_names),
        ENUMK(K_HOST, "framebuffer", DEF(framebuffer), auto_off_names),
        CUSTOM(K_HOST, "unload_modules", parse_unload_modules),
        CUSTOM(K_HOST, "governor", parse_governor),
        ENUMK(K_HOST, "governor_cpus", DEF(governor_cpus), governor_cpus_names),
        TYPED(K_HOST, "isolate_cpus", T_BOOL, DEF(isolate_cpus)),

        TYPED(K_HOOKS, "dir", T_PATH, DEF(hooks_dir)),
        RANGED(K_HOOKS, "timeout", DEF(hooks_timeout_s), 1, 3600),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

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
                  set_default(&def->machine, "q35") && set_default(&def->display, "none") &&
                  set_default(&def->vga, "none") && set_default(&def->serial, "none") &&
                  set_default(&def->ovmf_code, "/usr/share/OVMF/OVMF_CODE_4M.fd") &&
                  set_default(&def->ovmf_vars_template, "/usr/share/OVMF/OVMF_VARS_4M.fd") &&
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
                        return fail(why, why_len, "empty; expected a value");
                return set_string(field, v);
        case T_TEXT:
                return set_string(field, v);
        case T_PATH:
                if (v[0] != '/')
                        return fail(why, why_len,
                                    "not an absolute path; expected a path starting with /");
                return set_string(field, v);
        case T_BOOL:
                return vmdef_parse_bool(v, field, why, why_len);
        case T_UINT: {
                errno = 0;
                unsigned long n = strtoul(v, &end, 10);
                if (!isdigit((unsigned char)v[0]) || *end || errno || n < k->min || n > k->max)
                        return fail(why, why_len, "expected a whole number from %u to %u", k->min,
                                    k->max);
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
                        if (!strcmp(v, k->names[i])) {
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
                return fail(why, why_len, "expected %s", list);
        }
        case T_CUSTOM:
                return k->parse(v, target, why, why_len);
        }
        return -EINVAL;
}

static const struct key_def *key_lookup(enum kind kind, const char *key)
{
        for (size_t i = 0; i < N_KEYS; i++)
                if (keys[i].kind == kind && !strcmp(keys[i].key, key))
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
        char why[WHY_LEN];
        struct vmdef_cpulist pin = {0};
        if (!vmdef_id_valid(e->key)) {
                vmdef_diag_add(
                        diags, VMDEF_ERROR, e->line, section, e->key,
                        "invalid iothread ID; expected a letter followed by letters, digits, '-', '_' or '.'");
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
                        if (ini->entries[j].section == s && !strcmp(ini->entries[j].key, e->key))
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
                char why[WHY_LEN] = "";
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
