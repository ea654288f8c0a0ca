/* The value parsers of keys whose values are more than a type (names, display
 * and serial modes, CPU flags and pins, PCI and USB ids, MACs, unit and module
 * lists). keys.c's table names them; the typed keys are parsed there. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
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

int vmdef_why(char *why, size_t why_len, const char *fmt, ...)
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

int vmdef_set_string(char **field, const char *value)
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
                                        r = vmdef_why(
                                                why, why_len,
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
                                        r = vmdef_why(
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

int vmdef_key_name(const char *v, void *t, char *why, size_t why_len)
{
        if (strlen(v) > 64 || !isalnum((unsigned char)v[0]) || !chars_in(v, "_.-"))
                return vmdef_why(
                        why, why_len,
                        "not a usable VM name; expected 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit (it names files and units)");
        return vmdef_set_string(&((struct vm_def *)t)->name, v);
}

int vmdef_key_binary(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || (strchr(v, '/') && v[0] != '/'))
                return vmdef_why(why, why_len,
                                 "expected an absolute path or a program name found in PATH");
        return vmdef_set_string(&((struct vm_def *)t)->qemu_binary, v);
}

/* A user name as useradd(8) accepts it by default; resolved to a uid when QEMU starts. */
int vmdef_key_qemu_user(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || strlen(v) > 32 || !(islower((unsigned char)v[0]) || v[0] == '_') ||
            !chars_in(v, "_-") || strpbrk(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ."))
                return vmdef_why(
                        why, why_len,
                        "expected a user name such as vmlaunch-qemu (lower-case letters, digits, '_', '-'; at most 32)");
        return vmdef_set_string(&((struct vm_def *)t)->qemu_user, v);
}

/* Machine and CPU model names become QEMU option values that QEMU only takes as
 * ids (a letter first): refused here, not when the command line is built. */
int vmdef_key_machine(const char *v, void *t, char *why, size_t why_len)
{
        if (!isalpha((unsigned char)v[0]) || strlen(v) > 64 || !chars_in(v, "_.-"))
                return vmdef_why(
                        why, why_len,
                        "expected a QEMU machine type such as q35 or pc-q35-7.2 (a letter, then letters, digits, '.', '-', '_'; at most 64)");
        return vmdef_set_string(&((struct vm_def *)t)->machine, v);
}

/* vnc=ADDR:N with ADDR an IP literal (a name could resolve anywhere), IPv6 with or
 * without brackets (the port is after the last ':'), none for loopback. */
static int parse_vnc(const char *spec, struct vm_def *def, char *why, size_t why_len)
{
        const char *colon = strrchr(spec, ':');
        char *end = NULL;
        unsigned long n = 100;
        if (colon && isdigit((unsigned char)colon[1]))
                n = strtoul(colon + 1, &end, 10);
        if (n >= 100 || *end)
                return vmdef_why(
                        why, why_len,
                        "expected vnc=:N (127.0.0.1) or vnc=ADDR:N with ADDR an IPv4 or IPv6 address and N from 0 to 99");
        char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
        size_t len = (size_t)(colon - spec);
        if (len >= 2 && spec[0] == '[' && spec[len - 1] == ']')
                spec++, len -= 2;
        if (len && len < sizeof(host))
                snprintf(host, sizeof(host), "%.*s", (int)len, spec);
        unsigned char addr[sizeof(struct in6_addr)];
        int family = strchr(host, ':') ? AF_INET6 : AF_INET;
        if (len >= sizeof(host) || inet_pton(family, host, addr) != 1)
                return vmdef_why(
                        why, why_len,
                        "\"%.*s\" is not an IP address; expected vnc=:N (127.0.0.1) or vnc=ADDR:N with ADDR like 127.0.0.1, ::1 or 0.0.0.0",
                        (int)(len < 64 ? len : 64), spec);
        inet_ntop(family, addr, host, sizeof(host)); /* one spelling per address */
        const struct in6_addr *a6 = (const struct in6_addr *)addr;
        def->vnc_loopback =
                family == AF_INET
                        ? addr[0] == 127
                        : IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && addr[12] == 127);
        def->vnc_display = (unsigned)n;
        return vmdef_set_string(&def->vnc_host, host);
}

int vmdef_key_display(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        if (!strncmp(v, "vnc=", 4)) {
                int r = parse_vnc(v + 4, def, why, why_len);
                return r < 0 ? r : vmdef_set_string(&def->display, v);
        }
        if (strcmp(v, "none") && strcmp(v, "gtk") && strcmp(v, "sdl"))
                return vmdef_why(why, why_len,
                                 "expected none, gtk, sdl, vnc=:N or vnc=ADDR:N (N from 0 to 99)");
        return vmdef_set_string(&def->display, v);
}

int vmdef_key_vga(const char *v, void *t, char *why, size_t why_len)
{
        if (strcmp(v, "none") && strcmp(v, "std") && strcmp(v, "virtio"))
                return vmdef_why(why, why_len, "expected none, std or virtio");
        return vmdef_set_string(&((struct vm_def *)t)->vga, v);
}

int vmdef_key_serial(const char *v, void *t, char *why, size_t why_len)
{
        if (strcmp(v, "none") && strcmp(v, "pty") && v[0] != '/')
                return vmdef_why(why, why_len, "expected none, pty or an absolute path");
        return vmdef_set_string(&((struct vm_def *)t)->serial, v);
}

int vmdef_key_args(const char *v, void *t, char *why, size_t why_len)
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

int vmdef_key_hugepages(const char *v, void *t, char *why, size_t why_len)
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
                return vmdef_why(why, why_len,
                                 "not a hugepage size of x86-64; expected off, 2M or 1G");
        *bytes = size;
        return 0;
}

int vmdef_key_model(const char *v, void *t, char *why, size_t why_len)
{
        if (!isalpha((unsigned char)v[0]) || strlen(v) > 64 || !chars_in(v, "_.-"))
                return vmdef_why(
                        why, why_len,
                        "expected host or a QEMU CPU model such as EPYC-Rome or max (a letter, then letters, digits, '.', '-', '_'; at most 64)");
        return vmdef_set_string(&((struct vm_def *)t)->cpu_model, v);
}

int vmdef_key_cpu_flags(const char *v, void *t, char *why, size_t why_len)
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
                        r = vmdef_why(
                                why, why_len,
                                "\"%s\" is not a CPU flag; expected +flag, -flag or property=value, separated by commas",
                                f);
        }
        vl_strv_free(&items);
        if (r < 0)
                return r;
        return vmdef_set_string(&((struct vm_def *)t)->cpu_flags, v);
}

int vmdef_key_vcpu_pin(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        struct vmdef_cpulist l;
        if (streq(v, "auto")) {
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

int vmdef_key_spinlocks(const char *v, void *t, char *why, size_t why_len)
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
                return vmdef_why(why, why_len,
                                 "expected a retry count from 4095 (0xfff) to 4294967295, or off");
        *retries = (unsigned)n;
        return 0;
}

int vmdef_key_vendor_id(const char *v, void *t, char *why, size_t why_len)
{
        size_t n = strlen(v);
        bool printable = true;
        for (const char *p = v; *p; p++)
                printable &= *p > ' ' && *p < 0x7f;
        /* x86 -cpu features split on every comma, with no escape, and '=' would end
         * the value: QEMU would read the rest as other features. */
        if (printable && strpbrk(v, ",="))
                return vmdef_why(
                        why, why_len,
                        "contains ',' or '=', which QEMU's -cpu cannot carry; expected 1 to 12 printable ASCII characters without spaces, ',' or '='");
        if (n < 1 || n > 12 || !printable)
                return vmdef_why(why, why_len,
                                 "%s; expected 1 to 12 printable ASCII characters without spaces",
                                 n > 12 ? "longer than 12 characters" : "unusable characters");
        return vmdef_set_string(&((struct vm_def *)t)->hyperv.vendor_id, v);
}

int vmdef_key_gpu_address(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        int r = vmdef_parse_pci_addr(v, &def->gpu_address, why, why_len);
        if (r == 0)
                def->has_gpu = true;
        return r;
}

/* The kernel's names in a function's reset_method (drivers/pci/pci.c, Linux 5.15+). */
static const char *const reset_method_names[] = {
        "device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus"};

int vmdef_key_gpu_reset_method(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        if (!strcmp(v, "auto"))
                return vmdef_set_string(&def->gpu_reset_method, v);
        char list[256] = "", copy[256];
        if (strlen(v) >= sizeof(copy))
                return vmdef_why(why, why_len, "too long; expected auto or a few reset methods");
        snprintf(copy, sizeof(copy), "%s", v);
        bool seen[sizeof(reset_method_names) / sizeof(*reset_method_names)] = {0};
        char *save = NULL;
        for (char *m = strtok_r(copy, " ,", &save); m; m = strtok_r(NULL, " ,", &save)) {
                size_t k = 0;
                while (k < sizeof(seen) && strcmp(m, reset_method_names[k]))
                        k++;
                if (k == sizeof(seen))
                        return vmdef_why(
                                why, why_len,
                                "\"%s\" is no reset method of the kernel; expected auto or methods among device_specific, acpi, flr, af_flr, pm, bus, cxl_bus, in the order to try them",
                                m);
                if (seen[k])
                        return vmdef_why(why, why_len, "%s is listed twice", m);
                seen[k] = true;
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                         list[0] ? " " : "", m);
        }
        if (!list[0])
                return vmdef_why(why, why_len, "empty; expected auto or reset methods");
        return vmdef_set_string(&def->gpu_reset_method, list);
}

int vmdef_key_gpu_group(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        struct vl_strv items = {0};
        struct vmdef_pci_addr *addrs = NULL;
        int r = split_list(v, &items);
        if (r == 0 && !items.count)
                r = vmdef_why(why, why_len, "empty; expected PCI addresses like 06:00.0,06:00.1");
        if (r == 0 && !(addrs = calloc(items.count, sizeof(*addrs))))
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < items.count; i++) {
                char inner[VMDEF_WHY_LEN];
                if (vmdef_parse_pci_addr(items.items[i], &addrs[i], inner, sizeof(inner)) < 0) {
                        r = vmdef_why(why, why_len, "\"%s\": %s", items.items[i], inner);
                        break;
                }
                for (size_t j = 0; j < i; j++)
                        if (!memcmp(&addrs[i], &addrs[j], sizeof(addrs[i])))
                                r = vmdef_why(why, why_len,
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
                return vmdef_why(
                        why, why_len,
                        "not a USB ID; expected 4 hex digits as shown by lsusb, e.g. 046d");
        *out = (uint16_t)strtoul(p, NULL, 16);
        return 0;
}

int vmdef_key_usb_vendor(const char *v, void *t, char *why, size_t why_len)
{
        return parse_hex16(v, &((struct vmdef_usb *)t)->vendor, why, why_len);
}

int vmdef_key_usb_product(const char *v, void *t, char *why, size_t why_len)
{
        return parse_hex16(v, &((struct vmdef_usb *)t)->product, why, why_len);
}

int vmdef_key_grab_toggle(const char *v, void *t, char *why, size_t why_len)
{
        static const char *const toggles[] = {"ctrl-ctrl", "alt-alt",    "shift-shift",
                                              "meta-meta", "scrolllock", "ctrl-scrolllock",
                                              NULL};
        for (size_t i = 0; toggles[i]; i++)
                if (streq(v, toggles[i]))
                        return vmdef_set_string(&((struct vmdef_evdev *)t)->grab_toggle, v);
        return vmdef_why(
                why, why_len,
                "expected ctrl-ctrl, alt-alt, shift-shift, meta-meta, scrolllock or ctrl-scrolllock");
}

int vmdef_key_bridge(const char *v, void *t, char *why, size_t why_len)
{
        if (!*v || strlen(v) > 15 || !chars_in(v, "_.-"))
                return vmdef_why(
                        why, why_len,
                        "not an interface name; expected 1 to 15 letters, digits, '_', '.' or '-', e.g. br0");
        return vmdef_set_string(&((struct vmdef_net *)t)->bridge, v);
}

int vmdef_key_net_model(const char *v, void *t, char *why, size_t why_len)
{
        if (!isalpha((unsigned char)v[0]) || strlen(v) > 64 || !chars_in(v, "_-"))
                return vmdef_why(
                        why, why_len,
                        "expected a QEMU network device such as virtio-net-pci or e1000e (a letter, then letters, digits, '-', '_'; at most 64)");
        return vmdef_set_string(&((struct vmdef_net *)t)->model, v);
}

int vmdef_key_mac(const char *v, void *t, char *why, size_t why_len)
{
        unsigned b[6];
        char end;
        if (strlen(v) != 17 ||
            sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                   &end) != 6 ||
            strspn(v, "0123456789abcdefABCDEF:") != 17)
                return vmdef_why(why, why_len,
                                 "not a MAC address; expected 6 hex bytes like 52:54:00:12:34:56");
        if (b[0] & 1)
                return vmdef_why(
                        why, why_len,
                        "a multicast address; expected a unicast MAC (first byte even), e.g. 52:54:00:12:34:56");
        return vmdef_set_string(&((struct vmdef_net *)t)->mac, v);
}

int vmdef_key_disk_serial(const char *v, void *t, char *why, size_t why_len)
{
        /* virtio-blk carries at most 20 bytes of serial (VIRTIO_BLK_ID_BYTES). */
        if (!*v || strlen(v) > 20 || !chars_in(v, "_.-"))
                return vmdef_why(why, why_len, "expected 1 to 20 letters, digits, '_', '.' or '-'");
        return vmdef_set_string(&((struct vmdef_disk *)t)->serial, v);
}

int vmdef_key_disk_iothread(const char *v, void *t, char *why, size_t why_len)
{
        if (!vmdef_id_valid(v))
                return vmdef_why(why, why_len, "expected the ID of a key in [iothreads]");
        return vmdef_set_string(&((struct vmdef_disk *)t)->iothread, v);
}

int vmdef_key_stop_units(const char *v, void *t, char *why, size_t why_len)
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
                        suffix_ok |= streq(dot, suffixes[s]);
                if (!suffix_ok || dot == u || strlen(u) > 255 || !chars_in(u, ":_.\\@-"))
                        r = vmdef_why(
                                why, why_len,
                                "\"%s\" is not a unit name; expected names with their type, e.g. display-manager.service, separated by commas",
                                u);
        }
        if (r == 0)
                strv_move(&units, &def->stop_units, &def->n_stop_units);
        vl_strv_free(&units);
        return r;
}

int vmdef_key_unload_modules(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        struct vl_strv mods = {0};
        if (streq(v, "auto") || streq(v, "off")) {
                def->modules_mode = streq(v, "auto") ? VMDEF_MODULES_AUTO : VMDEF_MODULES_OFF;
                strv_move(&mods, &def->unload_modules, &def->n_unload_modules);
                return 0;
        }
        int r = split_list(v, &mods);
        if (r == 0 && !mods.count)
                r = vmdef_why(why, why_len, "empty; expected auto, off or module names");
        for (size_t i = 0; r == 0 && i < mods.count; i++)
                if (strlen(mods.items[i]) > 55 || !chars_in(mods.items[i], "_-"))
                        r = vmdef_why(
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

int vmdef_key_governor(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        if (streq(v, "off")) {
                free(def->governor);
                def->governor = NULL;
                return 0;
        }
        if (!*v || strlen(v) > 15 || !chars_in(v, "_"))
                return vmdef_why(
                        why, why_len,
                        "expected a cpufreq governor such as performance or schedutil, or off");
        return vmdef_set_string(&def->governor, v);
}

/* "auto" (follow [hyperv] enabled) or a boolean: whether the guest is offered S3/S4. */
static int parse_guest_sleep(const char *v, enum vmdef_guest_sleep *out, char *why, size_t why_len)
{
        bool on;
        if (!strcmp(v, "auto")) {
                *out = VMDEF_SLEEP_AUTO;
                return 0;
        }
        if (vmdef_parse_bool(v, &on, why, why_len) < 0)
                return vmdef_why(why, why_len,
                                 "expected auto (off when [hyperv] enabled = yes) or yes/no");
        *out = on ? VMDEF_SLEEP_ON : VMDEF_SLEEP_OFF;
        return 0;
}

int vmdef_key_suspend_to_ram(const char *v, void *t, char *why, size_t why_len)
{
        return parse_guest_sleep(v, &((struct vm_def *)t)->suspend_to_ram, why, why_len);
}

int vmdef_key_suspend_to_disk(const char *v, void *t, char *why, size_t why_len)
{
        return parse_guest_sleep(v, &((struct vm_def *)t)->suspend_to_disk, why, why_len);
}

/* tcp:PORT or tcp:HOST:PORT, HOST an IP address ([v6] in brackets) or a host name. */
static int parse_ready_tcp(const char *spec, struct vm_def *def, char *why, size_t why_len)
{
        const char *colon = strrchr(spec, ':');
        const char *port = colon ? colon + 1 : spec;
        char *end = NULL;
        unsigned long n = isdigit((unsigned char)*port) ? strtoul(port, &end, 10) : 0;
        if (!n || n > 65535 || *end)
                return vmdef_why(
                        why, why_len,
                        "expected tcp:PORT (the guest's address from its agent) or tcp:HOST:PORT with PORT from 1 to 65535, e.g. tcp:47989");
        free(def->ready_host);
        def->ready_host = NULL;
        if (colon) {
                size_t len = (size_t)(colon - spec);
                if (len >= 2 && spec[0] == '[' && spec[len - 1] == ']')
                        spec++, len -= 2;
                char host[256];
                unsigned char addr[sizeof(struct in6_addr)];
                snprintf(host, sizeof(host), "%.*s", (int)len, spec);
                bool ip = inet_pton(strchr(host, ':') ? AF_INET6 : AF_INET, host, addr) == 1;
                if (!len || len >= sizeof(host) || (!ip && !chars_in(host, ".-")))
                        return vmdef_why(
                                why, why_len,
                                "expected tcp:HOST:PORT with HOST an IP address ([::1] for IPv6) or a host name");
                if (!(def->ready_host = strdup(host)))
                        return -ENOMEM;
        }
        def->ready = VMDEF_READY_TCP;
        def->ready_port = (unsigned)n;
        return 0;
}

int vmdef_key_session_ready(const char *v, void *t, char *why, size_t why_len)
{
        struct vm_def *def = t;
        if (!strcmp(v, "running") || !strcmp(v, "agent")) {
                def->ready = !strcmp(v, "agent") ? VMDEF_READY_AGENT : VMDEF_READY_RUNNING;
                return 0;
        }
        if (!strncmp(v, "tcp:", 4))
                return parse_ready_tcp(v + 4, def, why, why_len);
        return vmdef_why(why, why_len,
                         "expected running, agent, tcp:PORT or tcp:HOST:PORT, e.g. tcp:47989");
}
