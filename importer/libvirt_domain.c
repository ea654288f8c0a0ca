/* A libvirt domain -> a vmlaunch definition (importer.h).
 *
 * The XML is read with libxml2, without network access, without a DTD and without
 * expanding entities (a DOCTYPE is refused outright: libvirt never writes one), within
 * libxml2's default limits. The tree is then walked element by element: each child of
 * <domain>, <features>, <cputune>, <devices>, ... is either mapped to keys, or counted
 * as something vmlaunch does itself (controllers, the emulator path, ...), or reported
 * as "# not imported: ELEMENT: why". An element no rule names is reported too, so
 * nothing is dropped silently. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importer/dl_libxml.h"
#include "importer/importer.h"
#include "util/cleanup.h"
#include "util/macro.h"

#define QEMU_NS       "http://libvirt.org/schemas/domain/qemu/1.0"
#define VCPUS_MAX     288
#define INI_VALUE_MAX 160 /* a definition line is at most 197 bytes */
#define HOSTDEVS_MAX  32
#define DISK_ID_MAX   18

/* The definition's sections, in the order they are written. */
enum section {
        SEC_VM,
        SEC_QEMU,
        SEC_MEMORY,
        SEC_FIRMWARE,
        SEC_BOOT,
        SEC_CPU,
        SEC_HYPERV,
        SEC_IOTHREADS,
        SEC_DISKS, /* [disk.ID] sections: their lines carry their own headers */
        SEC_GPU,
        SEC_DEVICES, /* [usb.ID], [evdev.ID], [net.ID] */
        SEC_SMBIOS,
        SEC_TPM,
        SEC_GUEST,
        SEC_HOST,
        SEC_OTHER, /* notes with no section of their own */
        SEC_COUNT,
};

static const char *const section_names[SEC_COUNT] = {
        [SEC_VM] = "vm",         [SEC_QEMU] = "qemu",
        [SEC_MEMORY] = "memory", [SEC_FIRMWARE] = "firmware",
        [SEC_BOOT] = "boot",     [SEC_CPU] = "cpu",
        [SEC_HYPERV] = "hyperv", [SEC_IOTHREADS] = "iothreads",
        [SEC_GPU] = "gpu",       [SEC_SMBIOS] = "smbios",
        [SEC_TPM] = "tpm",       [SEC_GUEST] = "guest",
        [SEC_HOST] = "host",
};

/* vmlaunch's [hyperv] keys, each set from the domain (-1: not said, so "no"). */
enum hv_key {
        HV_RELAXED,
        HV_VAPIC,
        HV_VPINDEX,
        HV_RUNTIME,
        HV_TIME,
        HV_SYNIC,
        HV_STIMER,
        HV_RESET,
        HV_FREQUENCIES,
        HV_TLBFLUSH,
        HV_IPI,
        HV_STIMER_DIRECT,
        HV_REENLIGHTENMENT,
        HV_TLBFLUSH_EXT,
        HV_TLBFLUSH_DIRECT,
        HV_EVMCS,
        HV_AVIC,
        HV_XMM_INPUT,
        HV_EMSR_BITMAP,
        HV_COUNT,
};

static const char *const hv_keys[HV_COUNT] = {
        "relaxed", "vapic",         "vpindex",         "runtime",      "time",
        "synic",   "stimer",        "reset",           "frequencies",  "tlbflush",
        "ipi",     "stimer_direct", "reenlightenment", "tlbflush_ext", "tlbflush_direct",
        "evmcs",   "avic",          "xmm_input",       "emsr_bitmap",
};

struct disk {
        char id[DISK_ID_MAX + 1];
        struct vl_strv lines;
        bool cdrom;
        int boot; /* 0: none given */
};

struct hostdev {
        char addr[16]; /* DDDD:BB:SS.F */
        char rom[INI_VALUE_MAX + 1];
        int pci_class; /* -1: unknown on this host */
        bool taken;
};

struct import {
        const struct importer_options *opts;
        struct importer_result *res;
        struct vl_strv lines[SEC_COUNT];
        struct vl_strv covered; /* elements vmlaunch does itself, for one comment */
        int nomem;

        char domain_type[16];
        unsigned vcpus;
        bool have_topology;
        unsigned sockets, dies, cores, threads;
        int vcpu_pin[VCPUS_MAX]; /* -1: none, -2: not one CPU */
        unsigned vcpu_pins;
        bool have_cpu_model;
        int hv[HV_COUNT];
        bool hyperv;
        bool hv_time_from_clock;
        struct vl_strv iothread_ids;
        struct vl_strv iothread_pins; /* parallel to iothread_ids, "" when unpinned */
        struct disk disks[64];
        size_t ndisks;
        struct vl_strv boot_devs; /* <os><boot dev=...>, in order */
        struct hostdev hostdevs[HOSTDEVS_MAX];
        size_t nhostdevs;
        unsigned usb, evdev, net;
        struct vl_strv qemu_args;
        struct disk *cur_disk; /* while its element is read */
        /* <clock>, decided once <hyperv> is known: vmlaunch's clock for a Windows guest
         * ([hyperv] enabled) is virt-manager's (localtime, rtc catchup, no HPET). */
        bool clock_localtime, clock_utc, rtc_catchup, hpet_off;
        bool i440fx; /* machine pc or pc-i440fx-* */
};

/* ---- output ---------------------------------------------------------------- */

static void add(struct import *im, enum section s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void add(struct import *im, enum section s, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *line = NULL;
        /* A disk's notes go with its own [disk.ID] block. */
        struct vl_strv *to = s == SEC_DISKS && im->cur_disk ? &im->cur_disk->lines : &im->lines[s];
        if (vasprintf(&line, fmt, ap) < 0 || vl_strv_push(to, line) < 0)
                im->nomem = 1;
        va_end(ap);
        free(line);
}

/* "# not imported: ELEMENT: why" in section s, and the same as a warning. */
static void not_imported(struct import *im, enum section s, const char *element, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
static void not_imported(struct import *im, enum section s, const char *element, const char *fmt,
                         ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *why = NULL;
        if (vasprintf(&why, fmt, ap) < 0)
                im->nomem = 1;
        va_end(ap);
        if (!why)
                return;
        /* The same element said twice (three <vcpusched>) is one line. */
        char *warning = NULL;
        if (asprintf(&warning, "not imported: %s: %s", element, why) < 0) {
                im->nomem = 1;
        } else if (!vl_strv_contains(&im->res->warnings, warning)) {
                add(im, s, "# %s", warning);
                if (vl_strv_push(&im->res->warnings, warning) < 0)
                        im->nomem = 1;
        }
        free(warning);
        free(why);
}

/* A value imported differently from what libvirt does: a comment and a warning. */
static void approximated(struct import *im, enum section s, const char *element, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
static void approximated(struct import *im, enum section s, const char *element, const char *fmt,
                         ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *why = NULL;
        if (vasprintf(&why, fmt, ap) < 0)
                im->nomem = 1;
        va_end(ap);
        if (!why)
                return;
        add(im, s, "# imported differently: %s: %s", element, why);
        if (vl_strv_pushf(&im->res->warnings, "imported differently: %s: %s", element, why) < 0)
                im->nomem = 1;
        free(why);
}

static void covered(struct import *im, const char *element)
{
        if (!vl_strv_contains(&im->covered, element) && vl_strv_push(&im->covered, element) < 0)
                im->nomem = 1;
}

/* A value the definition can carry on one line: printable, no line break, no " ;"
 * (an inline comment), no leading '#'/';' or blanks at either end. */
static bool ini_value_ok(const char *v)
{
        size_t n = strlen(v);
        if (!n || n > INI_VALUE_MAX || v[0] == ' ' || v[n - 1] == ' ' || v[0] == '#' || v[0] == ';')
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)v[i];
                if (c < 0x20 || c == 0x7f)
                        return false;
                if (c == ';' && i > 0 && (v[i - 1] == ' ' || v[i - 1] == '\t'))
                        return false;
        }
        return true;
}

/* ---- XML helpers ----------------------------------------------------------- */

static bool is(const xmlNode *n, const char *name)
{
        return n && n->type == XML_ELEMENT_NODE && streq((const char *)n->name, name);
}

#define FOR_ELEMENTS(child, parent)                                                                \
        for (xmlNode *child = (parent)->children; child; child = child->next)                      \
                if (child->type == XML_ELEMENT_NODE)

/* An attribute as a fixed buffer (libvirt's attributes are short; a longer one is
 * cut at the buffer and then refused by whoever checks it). */
static bool attr(const xmlNode *n, const char *name, char *buf, size_t len)
{
        xmlChar *v = sym_xmlGetNoNsProp(n, (const xmlChar *)name);
        if (!v) {
                buf[0] = '\0';
                return false;
        }
        snprintf(buf, len, "%s", (const char *)v);
        (*sym_xmlFree)(v);
        return true;
}

static bool attr_is(const xmlNode *n, const char *name, const char *value)
{
        char buf[64];
        return attr(n, name, buf, sizeof(buf)) && streq(buf, value);
}

/* The element's text, trimmed. */
static void text(const xmlNode *n, char *buf, size_t len)
{
        xmlChar *v = sym_xmlNodeGetContent(n);
        const char *s = v ? (const char *)v : "";
        while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
                s++;
        snprintf(buf, len, "%s", s);
        size_t l = strlen(buf);
        while (l && (buf[l - 1] == ' ' || buf[l - 1] == '\n' || buf[l - 1] == '\t' ||
                     buf[l - 1] == '\r'))
                buf[--l] = '\0';
        (*sym_xmlFree)(v);
}

static xmlNode *child(const xmlNode *n, const char *name)
{
        FOR_ELEMENTS(c, n)
        if (is(c, name))
                return c;
        return NULL;
}

static bool state_on(const xmlNode *n)
{
        char st[16];
        return !attr(n, "state", st, sizeof(st)) || streq(st, "on") || streq(st, "yes");
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
        if (!*s)
                return false;
        unsigned long long v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9' || v > (max - (unsigned)(*p - '0')) / 10)
                        return false;
                v = v * 10 + (unsigned)(*p - '0');
        }
        *out = v;
        return true;
}

/* <memory unit='KiB'>N</memory> in bytes (libvirt's units: b, KB = 1000, k = KiB, ...). */
static bool memory_bytes(const xmlNode *n, unsigned long long *bytes)
{
        char unit[16], num[32];
        if (!attr(n, "unit", unit, sizeof(unit)))
                snprintf(unit, sizeof(unit), "KiB");
        text(n, num, sizeof(num));
        static const struct {
                const char *unit;
                unsigned long long scale;
        } units[] = {
                {"b", 1},          {"bytes", 1},        {"KB", 1000ull},
                {"k", 1ull << 10}, {"KiB", 1ull << 10}, {"MB", 1000ull * 1000},
                {"M", 1ull << 20}, {"MiB", 1ull << 20}, {"GB", 1000ull * 1000 * 1000},
                {"G", 1ull << 30}, {"GiB", 1ull << 30}, {"TB", 1000ull * 1000 * 1000 * 1000},
                {"T", 1ull << 40}, {"TiB", 1ull << 40},
        };
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                unsigned long long v;
                if (!streq(unit, units[i].unit))
                        continue;
                if (!parse_uint(num, (1ull << 50) / units[i].scale, &v))
                        return false;
                *bytes = v * units[i].scale;
                return true;
        }
        return false;
}

/* ---- <domain> children ----------------------------------------------------- */

static void map_name(struct import *im, const xmlNode *domain)
{
        char name[256] = "";
        xmlNode *n = child(domain, "name");
        if (n)
                text(n, name, sizeof(name));
        if (im->opts->name) {
                snprintf(im->res->name, sizeof(im->res->name), "%s", im->opts->name);
        } else {
                /* A VM name: 1 to 64 of [A-Za-z0-9_.-], starting with a letter or digit. */
                size_t o = 0;
                const char *start = name; /* a name starts with a letter or digit */
                while (*start &&
                       !((*start >= 'a' && *start <= 'z') || (*start >= 'A' && *start <= 'Z') ||
                         (*start >= '0' && *start <= '9')))
                        start++;
                for (const char *p = start; *p && o < 64; p++) {
                        char c = *p;
                        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                  (c >= '0' && c <= '9') || (o > 0 && strchr("_.-", c));
                        im->res->name[o++] = ok ? c : '-';
                }
                im->res->name[o] = '\0';
                if (!o)
                        snprintf(im->res->name, sizeof(im->res->name), "imported");
                if (!streq(im->res->name, name))
                        approximated(im, SEC_VM, "name",
                                     "'%s' is no VM name (1 to 64 letters, digits, _ . -); "
                                     "named %s",
                                     name, im->res->name);
        }
        add(im, SEC_VM, "# The file's name is the VM's name: save this as /etc/vmlaunch/%s.ini",
            im->res->name);
        add(im, SEC_VM, "name = %s", im->res->name);
}

static void map_description(struct import *im, const xmlNode *n)
{
        char d[INI_VALUE_MAX + 1];
        text(n, d, sizeof(d));
        for (char *p = d; *p; p++)
                if (*p == '\n' || *p == '\t' || *p == '\r')
                        *p = ' ';
        if (!*d)
                return;
        if (ini_value_ok(d))
                add(im, SEC_VM, "description = %s", d);
        else
                not_imported(im, SEC_VM, (const char *)n->name,
                             "cannot be written on one definition line");
}

static void map_memory(struct import *im, const xmlNode *domain, unsigned long long *mem_bytes)
{
        xmlNode *m = child(domain, "memory");
        unsigned long long bytes = 0;
        if (!m || !memory_bytes(m, &bytes) || !bytes) {
                not_imported(im, SEC_MEMORY, "memory",
                             "missing or not a size; vmlaunch's default (4G) is used");
                *mem_bytes = 0;
                return;
        }
        *mem_bytes = bytes;
}

static void map_memory_backing(struct import *im, const xmlNode *mb, bool *hugepages_1g,
                               bool *hugepages)
{
        FOR_ELEMENTS(c, mb)
        {
                if (is(c, "hugepages")) {
                        *hugepages = true;
                        xmlNode *page = child(c, "page");
                        if (page) {
                                unsigned long long b = 0;
                                char size[32], unit[16];
                                attr(page, "size", size, sizeof(size));
                                if (!attr(page, "unit", unit, sizeof(unit)))
                                        snprintf(unit, sizeof(unit), "KiB");
                                /* memory_bytes reads text; do it by hand for attributes. */
                                unsigned long long v;
                                if (parse_uint(size, 1ull << 40, &v)) {
                                        if (streq(unit, "KiB") || streq(unit, "k"))
                                                b = v << 10;
                                        else if (streq(unit, "MiB") || streq(unit, "M"))
                                                b = v << 20;
                                        else if (streq(unit, "GiB") || streq(unit, "G"))
                                                b = v << 30;
                                }
                                if (b == (1ull << 30))
                                        *hugepages_1g = true;
                                else if (b != (2ull << 20))
                                        not_imported(im, SEC_MEMORY, "memoryBacking/hugepages/page",
                                                     "page size %s %s: vmlaunch uses 2M or 1G "
                                                     "pages; 2M taken",
                                                     size, unit);
                                char nodeset[32];
                                if (attr(page, "nodeset", nodeset, sizeof(nodeset)))
                                        not_imported(im, SEC_MEMORY,
                                                     "memoryBacking/hugepages/page nodeset",
                                                     "vmlaunch has no per-NUMA-node pages");
                        }
                } else if (is(c, "locked")) {
                        covered(im, "memoryBacking/locked (VFIO locks all guest RAM)");
                } else if (is(c, "allocation")) {
                        char mode[32], threads[16];
                        unsigned long long t;
                        if (attr(c, "mode", mode, sizeof(mode)))
                                add(im, SEC_MEMORY, "prealloc = %s",
                                    streq(mode, "immediate") ? "yes" : "no");
                        if (attr(c, "threads", threads, sizeof(threads))) {
                                if (parse_uint(threads, 1024, &t) && t)
                                        add(im, SEC_MEMORY, "prealloc_threads = %llu", t);
                                else
                                        not_imported(im, SEC_MEMORY,
                                                     "memoryBacking/allocation threads",
                                                     "'%s' is not 1 to 1024", threads);
                        }
                } else if (is(c, "source") && attr_is(c, "type", "anonymous")) {
                        covered(im, "memoryBacking/source type='anonymous'");
                } else if (is(c, "access") && attr_is(c, "mode", "private")) {
                        covered(im, "memoryBacking/access mode='private'");
                } else {
                        not_imported(im, SEC_MEMORY, (const char *)c->name,
                                     "memoryBacking/%s has no vmlaunch key (shared or memfd "
                                     "memory, no KSM sharing, discard)",
                                     (const char *)c->name);
                }
        }
}

static void write_memory(struct import *im, unsigned long long bytes, bool hugepages, bool gig)
{
        if (!bytes)
                return;
        unsigned long long page = hugepages ? (gig ? 1ull << 30 : 2ull << 20) : 1ull << 20;
        unsigned long long size = (bytes + page - 1) / page * page;
        if (size != bytes)
                approximated(im, SEC_MEMORY, "memory",
                             "%llu KiB rounded up to %llu MiB (vmlaunch takes whole MiB%s; "
                             "libvirt rounds up too)",
                             bytes >> 10, size >> 20, hugepages ? " of whole pages" : "");
        if (size % (1ull << 30) == 0)
                add(im, SEC_MEMORY, "size = %lluG", size >> 30);
        else
                add(im, SEC_MEMORY, "size = %lluM", size >> 20);
        add(im, SEC_MEMORY, "hugepages = %s", hugepages ? (gig ? "1G" : "2M") : "off");
}

static void map_vcpu(struct import *im, const xmlNode *v)
{
        char num[16], cur[16], cpuset[128];
        unsigned long long n;
        text(v, num, sizeof(num));
        if (!parse_uint(num, VCPUS_MAX, &n) || !n) {
                not_imported(im, SEC_CPU, "vcpu", "'%s' is not 1 to %d vCPUs; vmlaunch's default",
                             num, VCPUS_MAX);
                return;
        }
        im->vcpus = (unsigned)n;
        if (attr(v, "current", cur, sizeof(cur)) && !streq(cur, num))
                not_imported(im, SEC_CPU, "vcpu current",
                             "vmlaunch starts every vCPU (%s, not %s): no vCPU hot-plug", num, cur);
        if (attr(v, "cpuset", cpuset, sizeof(cpuset)))
                not_imported(im, SEC_CPU, "vcpu cpuset",
                             "'%s' is a default for unpinned vCPUs; pin each vCPU with "
                             "cputune/vcpupin (vcpu_pin) instead",
                             cpuset);
        char placement[16];
        if (attr(v, "placement", placement, sizeof(placement)) && streq(placement, "auto"))
                not_imported(im, SEC_CPU, "vcpu placement='auto'",
                             "numad placement; use vcpu_pin = auto for a pinning from the host's "
                             "topology");
}

static int iothread_index(struct import *im, const char *id)
{
        for (size_t i = 0; i < im->iothread_ids.count; i++)
                if (streq(im->iothread_ids.items[i], id))
                        return (int)i;
        return -1;
}

static void add_iothread(struct import *im, unsigned long long id)
{
        char name[32];
        snprintf(name, sizeof(name), "iothread%llu", id);
        if (iothread_index(im, name) >= 0)
                return;
        if (vl_strv_push(&im->iothread_ids, name) < 0 || vl_strv_push(&im->iothread_pins, "") < 0)
                im->nomem = 1;
}

static void map_iothreads(struct import *im, const xmlNode *domain)
{
        /* <iothreadids> names them; <iothreads>N alone means IDs 1..N. */
        xmlNode *ids = child(domain, "iothreadids");
        if (ids) {
                FOR_ELEMENTS(t, ids)
                {
                        char id[16];
                        unsigned long long v;
                        if (is(t, "iothread") && attr(t, "id", id, sizeof(id)) &&
                            parse_uint(id, 1000000, &v) && v) {
                                add_iothread(im, v);
                                char pool[16];
                                if (attr(t, "thread_pool_min", pool, sizeof(pool)) ||
                                    attr(t, "thread_pool_max", pool, sizeof(pool)) ||
                                    child(t, "poll"))
                                        not_imported(im, SEC_IOTHREADS,
                                                     "iothreadids/iothread pool or poll",
                                                     "vmlaunch's iothreads have QEMU's defaults");
                        } else {
                                not_imported(im, SEC_IOTHREADS, "iothreadids",
                                             "an entry without a numeric id");
                        }
                }
        }
        xmlNode *count = child(domain, "iothreads");
        if (count) {
                char num[16];
                unsigned long long n;
                text(count, num, sizeof(num));
                if (!parse_uint(num, 1024, &n)) {
                        not_imported(im, SEC_IOTHREADS, "iothreads", "'%s' is not a count", num);
                        return;
                }
                for (unsigned long long i = 1; im->iothread_ids.count < n && i < 100000; i++)
                        add_iothread(im, i);
        }
}

static void map_cputune(struct import *im, const xmlNode *ct)
{
        FOR_ELEMENTS(c, ct)
        {
                char cpuset[256] = "", list[512], id[16] = "";
                unsigned long long v;
                if (is(c, "vcpupin")) {
                        if (!attr(c, "vcpu", id, sizeof(id)) ||
                            !parse_uint(id, VCPUS_MAX - 1, &v) ||
                            !attr(c, "cpuset", cpuset, sizeof(cpuset)) ||
                            importer_cpuset_to_cpulist(cpuset, list, sizeof(list)) < 0) {
                                not_imported(im, SEC_CPU, "cputune/vcpupin",
                                             "vcpu='%s' cpuset='%s' is not a vCPU and a cpuset", id,
                                             cpuset);
                                continue;
                        }
                        unsigned long long cpu;
                        im->vcpu_pin[v] = parse_uint(list, 1023, &cpu) ? (int)cpu : -2;
                        im->vcpu_pins++;
                        if (im->vcpu_pin[v] == -2)
                                not_imported(im, SEC_CPU, "cputune/vcpupin",
                                             "vCPU %llu on %s: vmlaunch pins each vCPU to one "
                                             "host CPU",
                                             v, list);
                } else if (is(c, "emulatorpin")) {
                        if (attr(c, "cpuset", cpuset, sizeof(cpuset)) &&
                            importer_cpuset_to_cpulist(cpuset, list, sizeof(list)) == 0)
                                add(im, SEC_CPU, "emulator_pin = %s", list);
                        else
                                not_imported(im, SEC_CPU, "cputune/emulatorpin",
                                             "cpuset '%s' is not a cpuset", cpuset);
                } else if (is(c, "iothreadpin")) {
                        char name[32];
                        int i = -1;
                        if (attr(c, "iothread", id, sizeof(id)) && parse_uint(id, 1000000, &v)) {
                                snprintf(name, sizeof(name), "iothread%llu", v);
                                i = iothread_index(im, name);
                        }
                        if (i < 0 || !attr(c, "cpuset", cpuset, sizeof(cpuset)) ||
                            importer_cpuset_to_cpulist(cpuset, list, sizeof(list)) < 0) {
                                not_imported(im, SEC_IOTHREADS, "cputune/iothreadpin",
                                             "iothread='%s' cpuset='%s' is not a defined "
                                             "iothread and a cpuset",
                                             id, cpuset);
                                continue;
                        }
                        free(im->iothread_pins.items[i]);
                        im->iothread_pins.items[i] = strdup(list);
                        if (!im->iothread_pins.items[i])
                                im->nomem = 1;
                } else {
                        /* shares, period, quota, vcpusched, cachetune, ...: cgroup CPU
                         * bandwidth and real-time scheduling, which vmlaunch does not set. */
                        char element[64];
                        snprintf(element, sizeof(element), "cputune/%s", (const char *)c->name);
                        not_imported(im, SEC_CPU, element,
                                     "vmlaunch sets no CPU shares, quotas, scheduler "
                                     "policies or cache allocation");
                }
        }
}

static void write_vcpu_pins(struct import *im)
{
        if (!im->vcpu_pins)
                return;
        bool all = im->vcpus > 0;
        bool seen[1024] = {false};
        for (unsigned i = 0; i < im->vcpus && all; i++) {
                int c = im->vcpu_pin[i];
                if (c < 0 || seen[c])
                        all = false;
                else
                        seen[c] = true;
        }
        if (!all) {
                not_imported(im, SEC_CPU, "cputune/vcpupin",
                             "vmlaunch pins every vCPU to its own host CPU or none: this "
                             "domain pins %u of %u vCPUs, or two to one CPU",
                             im->vcpu_pins, im->vcpus);
                return;
        }
        char list[4096];
        size_t used = 0;
        for (unsigned i = 0; i < im->vcpus; i++) {
                int c = im->vcpu_pin[i];
                unsigned j = i;
                /* Runs of ascending CPUs as ranges; the order stays the vCPUs'. */
                while (j + 1 < im->vcpus && im->vcpu_pin[j + 1] == im->vcpu_pin[j] + 1)
                        j++;
                used += (size_t)snprintf(list + used, sizeof(list) - used,
                                         j > i ? "%s%d-%d" : "%s%d", used ? "," : "", c,
                                         im->vcpu_pin[j]);
                i = j;
        }
        add(im, SEC_CPU, "# vCPU n runs on the n-th CPU of this list (cputune/vcpupin)");
        add(im, SEC_CPU, "vcpu_pin = %s", list);
}

static void map_os(struct import *im, const xmlNode *os, const xmlNode *domain)
{
        /* nvram lines wait for "type" and "code", which are known at the end. */
        struct vl_strv read_lines = im->lines[SEC_FIRMWARE];
        im->lines[SEC_FIRMWARE] = (struct vl_strv){0};
        struct vl_strv nvram_lines = {0};
        char firmware[16] = "", loader_path[INI_VALUE_MAX + 1] = "";
        bool efi = attr(os, "firmware", firmware, sizeof(firmware)) && streq(firmware, "efi");
        bool secure_boot = false, secure_flash = false;
        FOR_ELEMENTS(c, os)
        {
                char buf[INI_VALUE_MAX + 1];
                if (is(c, "type")) {
                        char arch[32], machine[80];
                        attr(c, "arch", arch, sizeof(arch));
                        if (*arch && !streq(arch, "x86_64") && !streq(arch, "i686"))
                                not_imported(im, SEC_QEMU, "os/type arch",
                                             "'%s': vmlaunch runs x86_64 guests", arch);
                        else if (streq(arch, "i686"))
                                approximated(im, SEC_QEMU, "os/type arch='i686'",
                                             "runs on qemu-system-x86_64, as libvirt does");
                        if (attr(c, "machine", machine, sizeof(machine))) {
                                bool ok = machine[0] && strlen(machine) <= 64 &&
                                          ((machine[0] >= 'a' && machine[0] <= 'z') ||
                                           (machine[0] >= 'A' && machine[0] <= 'Z'));
                                for (const char *p = machine; ok && *p; p++)
                                        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                             (*p >= '0' && *p <= '9') || strchr(".-_", *p);
                                im->i440fx =
                                        streq(machine, "pc") || !strncmp(machine, "pc-i440fx-", 10);
                                if (ok)
                                        add(im, SEC_QEMU, "machine = %s", machine);
                                else
                                        not_imported(im, SEC_QEMU, "os/type machine",
                                                     "'%s' is no machine type", machine);
                        }
                } else if (is(c, "loader")) {
                        char type[16], sec[8], ro[8];
                        attr(c, "type", type, sizeof(type));
                        attr(c, "readonly", ro, sizeof(ro));
                        secure_flash = attr(c, "secure", sec, sizeof(sec)) && streq(sec, "yes");
                        text(c, buf, sizeof(buf));
                        if (streq(type, "rom")) {
                                not_imported(im, SEC_FIRMWARE, "os/loader type='rom'",
                                             "vmlaunch maps UEFI as pflash; its descriptors pick "
                                             "the build");
                                efi = true;
                                continue;
                        }
                        efi = true;
                        if (*buf && buf[0] == '/' && ini_value_ok(buf))
                                snprintf(loader_path, sizeof(loader_path), "%s", buf);
                        else if (*buf)
                                not_imported(im, SEC_FIRMWARE, "os/loader",
                                             "'%s' cannot be a definition path", buf);
                } else if (is(c, "nvram")) {
                        char tmpl[INI_VALUE_MAX + 1];
                        efi = true;
                        text(c, buf, sizeof(buf));
                        if (attr(c, "template", tmpl, sizeof(tmpl))) {
                                if (tmpl[0] == '/' && ini_value_ok(tmpl))
                                        add(im, SEC_FIRMWARE, "vars_template = %s", tmpl);
                                else
                                        not_imported(im, SEC_FIRMWARE, "os/nvram template",
                                                     "'%s' cannot be a definition path", tmpl);
                        }
                        if (*buf && buf[0] == '/' && ini_value_ok(buf)) {
                                add(im, SEC_FIRMWARE,
                                    "# libvirt's copy of the UEFI variables (boot entries kept)");
                                add(im, SEC_FIRMWARE, "vars = %s", buf);
                        } else if (*buf) {
                                not_imported(im, SEC_FIRMWARE, "os/nvram",
                                             "'%s' cannot be a definition path", buf);
                        }
                } else if (is(c, "firmware")) {
                        FOR_ELEMENTS(f, c)
                        {
                                char name[32], en[8];
                                if (is(f, "feature") && attr(f, "name", name, sizeof(name)) &&
                                    attr(f, "enabled", en, sizeof(en)) && streq(en, "yes") &&
                                    (streq(name, "secure-boot") || streq(name, "enrolled-keys")))
                                        secure_boot = true;
                        }
                } else if (is(c, "boot")) {
                        char dev[16];
                        attr(c, "dev", dev, sizeof(dev));
                        if (vl_strv_push(&im->boot_devs, dev) < 0)
                                im->nomem = 1;
                } else if (is(c, "kernel") || is(c, "initrd") || is(c, "cmdline")) {
                        text(c, buf, sizeof(buf));
                        bool path = !is(c, "cmdline");
                        if (ini_value_ok(buf) && (!path || buf[0] == '/'))
                                add(im, SEC_BOOT, "%s = %s", (const char *)c->name, buf);
                        else if (*buf)
                                not_imported(im, SEC_BOOT, (const char *)c->name,
                                             "cannot be written on one definition line");
                } else if (is(c, "smbios")) {
                        char mode[16];
                        attr(c, "mode", mode, sizeof(mode));
                        if (streq(mode, "host"))
                                add(im, SEC_SMBIOS, "mode = host");
                        else if (!streq(mode, "emulate"))
                                not_imported(im, SEC_SMBIOS, "os/smbios mode='sysinfo'",
                                             "vmlaunch copies the host's tables or none; "
                                             "the domain's <sysinfo> strings are lost");
                } else if (is(c, "bootmenu") || is(c, "bios")) {
                        not_imported(im, SEC_FIRMWARE, (const char *)c->name,
                                     "vmlaunch sets no boot menu or BIOS options");
                } else {
                        char element[64];
                        snprintf(element, sizeof(element), "os/%s", (const char *)c->name);
                        not_imported(im, SEC_FIRMWARE, element, "no vmlaunch key");
                }
        }
        (void)domain;
        nvram_lines = im->lines[SEC_FIRMWARE];
        im->lines[SEC_FIRMWARE] = read_lines;
        if (!efi) {
                add(im, SEC_FIRMWARE, "# no UEFI loader in the domain: SeaBIOS, as libvirt");
                add(im, SEC_FIRMWARE, "type = bios");
        } else {
                add(im, SEC_FIRMWARE, "type = uefi");
                if (secure_boot)
                        add(im, SEC_FIRMWARE, "secure_boot = yes");
                else if (secure_flash)
                        add(im, SEC_FIRMWARE,
                            "# loader secure='yes' without enrolled keys: no Secure Boot");
                if (*loader_path)
                        add(im, SEC_FIRMWARE, "code = %s", loader_path);
        }
        for (size_t i = 0; i < nvram_lines.count; i++)
                add(im, SEC_FIRMWARE, "%s", nvram_lines.items[i]);
        vl_strv_free(&nvram_lines);
}

static void set_hv(struct import *im, enum hv_key k, bool on)
{
        im->hv[k] = on;
}

static void map_hyperv(struct import *im, const xmlNode *hv)
{
        im->hyperv = true;
        char mode[16];
        if (attr(hv, "mode", mode, sizeof(mode)) && streq(mode, "passthrough"))
                not_imported(im, SEC_HYPERV, "hyperv mode='passthrough'",
                             "vmlaunch names each enlightenment; the ones listed are imported");
        static const struct {
                const char *element;
                enum hv_key key;
        } simple[] = {
                {"relaxed", HV_RELAXED},
                {"vapic", HV_VAPIC},
                {"vpindex", HV_VPINDEX},
                {"runtime", HV_RUNTIME},
                {"synic", HV_SYNIC},
                {"reset", HV_RESET},
                {"frequencies", HV_FREQUENCIES},
                {"reenlightenment", HV_REENLIGHTENMENT},
                {"ipi", HV_IPI},
                {"evmcs", HV_EVMCS},
                {"avic", HV_AVIC},
                {"emsr_bitmap", HV_EMSR_BITMAP},
                {"xmm_input", HV_XMM_INPUT},
        };
        FOR_ELEMENTS(c, hv)
        {
                bool done = false;
                for (size_t i = 0; i < ELEMENTSOF(simple) && !done; i++)
                        if (is(c, simple[i].element)) {
                                set_hv(im, simple[i].key, state_on(c));
                                done = true;
                        }
                if (done)
                        continue;
                if (is(c, "stimer")) {
                        set_hv(im, HV_STIMER, state_on(c));
                        xmlNode *d = child(c, "direct");
                        if (d)
                                set_hv(im, HV_STIMER_DIRECT, state_on(c) && state_on(d));
                } else if (is(c, "tlbflush")) {
                        set_hv(im, HV_TLBFLUSH, state_on(c));
                        xmlNode *d = child(c, "direct"), *e = child(c, "extended");
                        if (d)
                                set_hv(im, HV_TLBFLUSH_DIRECT, state_on(c) && state_on(d));
                        if (e)
                                set_hv(im, HV_TLBFLUSH_EXT, state_on(c) && state_on(e));
                } else if (is(c, "spinlocks")) {
                        char retries[16];
                        unsigned long long r = 0;
                        if (!state_on(c))
                                add(im, SEC_HYPERV, "spinlocks = off");
                        else if (attr(c, "retries", retries, sizeof(retries)) &&
                                 parse_uint(retries, 0xffffffffull, &r) && r >= 4095)
                                add(im, SEC_HYPERV, "spinlocks = %llu", r);
                        else
                                not_imported(im, SEC_HYPERV, "hyperv/spinlocks retries",
                                             "'%s' is below 4095; vmlaunch's 8191", retries);
                } else if (is(c, "vendor_id")) {
                        char v[64];
                        bool ok = state_on(c) && attr(c, "value", v, sizeof(v)) && *v &&
                                  strlen(v) <= 12;
                        for (const char *p = v; ok && *p; p++)
                                ok = *p > ' ' && *p < 0x7f && *p != ',' && *p != '=';
                        if (ok)
                                add(im, SEC_HYPERV, "vendor_id = %s", v);
                        else if (state_on(c))
                                not_imported(im, SEC_HYPERV, "hyperv/vendor_id",
                                             "'%s' is not 1 to 12 printable characters without "
                                             "blanks, ',' or '=' (QEMU's -cpu cannot carry them)",
                                             v);
                } else {
                        char element[64];
                        snprintf(element, sizeof(element), "hyperv/%s", (const char *)c->name);
                        not_imported(im, SEC_HYPERV, element, "no vmlaunch key");
                }
        }
}

static void resolve_clock(struct import *im)
{
        if (im->hyperv) {
                if (im->clock_localtime)
                        covered(im, "clock offset='localtime' (vmlaunch's for a Windows guest)");
                if (im->clock_utc)
                        approximated(im, SEC_QEMU, "clock offset='utc'",
                                     "vmlaunch runs a Windows guest's ([hyperv] enabled) clock "
                                     "in localtime, as Windows expects");
                if (im->rtc_catchup)
                        covered(im, "clock/timer rtc catchup (driftfix=slew for a Windows guest)");
                if (im->hpet_off)
                        covered(im, "clock/timer hpet present='no' (off for a Windows guest)");
                return;
        }
        if (im->clock_localtime)
                not_imported(im, SEC_QEMU, "clock offset='localtime'",
                             "vmlaunch runs the clock in UTC unless [hyperv] is enabled");
        if (im->rtc_catchup)
                not_imported(im, SEC_QEMU, "clock/timer name='rtc' tickpolicy='catchup'",
                             "driftfix=slew comes with [hyperv] enabled only");
        if (im->hpet_off)
                not_imported(im, SEC_QEMU, "clock/timer name='hpet' present='no'",
                             "the HPET is turned off with [hyperv] enabled only");
}

static void write_hyperv(struct import *im)
{
        if (!im->hyperv) {
                add(im, SEC_HYPERV, "# the domain has no <hyperv> features");
                add(im, SEC_HYPERV, "enabled = no");
                return;
        }
        /* "enabled" and the switches first, then spinlocks and vendor_id as read. */
        struct vl_strv read_lines = im->lines[SEC_HYPERV];
        im->lines[SEC_HYPERV] = (struct vl_strv){0};
        add(im, SEC_HYPERV, "enabled = yes");
        /* QEMU refuses hv-stimer without hv-time (and hv-synic); vmlaunch checks the same
         * dependencies, so what libvirt would hand QEMU to refuse is completed here. */
        if (im->hv[HV_STIMER] == 1 && im->hv[HV_TIME] != 1) {
                approximated(im, SEC_HYPERV, "clock/timer name='hypervclock'",
                             "time = yes although the domain has no hypervclock timer: stimer "
                             "needs it");
                im->hv[HV_TIME] = 1;
        }
        for (int k = 0; k < HV_COUNT; k++)
                add(im, SEC_HYPERV, "%s = %s", hv_keys[k], im->hv[k] == 1 ? "yes" : "no");
        for (size_t i = 0; i < read_lines.count; i++)
                add(im, SEC_HYPERV, "%s", read_lines.items[i]);
        vl_strv_free(&read_lines);
}

static void cpu_flag(struct import *im, const char *flag)
{
        if (vl_strv_push(&im->qemu_args, flag) < 0) /* reused below as the flags list */
                im->nomem = 1;
}

static void map_cpu(struct import *im, const xmlNode *cpu, struct vl_strv *flags)
{
        char mode[32], buf[80];
        attr(cpu, "mode", mode, sizeof(mode));
        bool host = streq(mode, "host-passthrough") || streq(mode, "maximum");
        bool cache_pt = false;
        if (streq(mode, "host-passthrough")) {
                add(im, SEC_CPU, "model = host");
                im->have_cpu_model = true;
        } else if (streq(mode, "maximum")) {
                add(im, SEC_CPU, "model = max");
                im->have_cpu_model = true;
        } else if (streq(mode, "host-model")) {
                approximated(im, SEC_CPU, "cpu mode='host-model'",
                             "vmlaunch has no host-model (a named model libvirt computes); "
                             "model = host, the host's CPU as it is");
                add(im, SEC_CPU, "model = host");
                im->have_cpu_model = true;
                host = true;
        }
        char migratable[8];
        if (attr(cpu, "migratable", migratable, sizeof(migratable)))
                covered(im, "cpu migratable (vmlaunch never migrates)");
        FOR_ELEMENTS(c, cpu)
        {
                if (is(c, "model")) {
                        text(c, buf, sizeof(buf));
                        bool ok = *buf && ((buf[0] >= 'a' && buf[0] <= 'z') ||
                                           (buf[0] >= 'A' && buf[0] <= 'Z'));
                        for (const char *p = buf; ok && *p; p++)
                                ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                     (*p >= '0' && *p <= '9') || strchr(".-_", *p);
                        if (im->have_cpu_model)
                                continue;
                        if (ok) {
                                add(im, SEC_CPU, "model = %s", buf);
                                im->have_cpu_model = true;
                        } else {
                                not_imported(im, SEC_CPU, "cpu/model", "'%s' is no model name",
                                             buf);
                        }
                } else if (is(c, "topology")) {
                        char v[16];
                        unsigned long long n;
                        unsigned *dst[] = {&im->sockets, &im->dies, &im->cores, &im->threads};
                        const char *names[] = {"sockets", "dies", "cores", "threads"};
                        im->sockets = im->dies = im->cores = im->threads = 1;
                        im->have_topology = true;
                        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                                if (attr(c, names[i], v, sizeof(v))) {
                                        if (parse_uint(v, 255, &n) && n)
                                                *dst[i] = (unsigned)n;
                                        else
                                                im->have_topology = false;
                                }
                        if (!im->have_topology)
                                not_imported(im, SEC_CPU, "cpu/topology",
                                             "counts of 1 to 255 expected; one socket per vCPU");
                        if (attr(c, "clusters", v, sizeof(v)) && !streq(v, "1"))
                                not_imported(im, SEC_CPU, "cpu/topology clusters",
                                             "vmlaunch has sockets, dies, cores and threads");
                } else if (is(c, "feature")) {
                        char name[64], policy[16];
                        attr(c, "name", name, sizeof(name));
                        if (!attr(c, "policy", policy, sizeof(policy)))
                                snprintf(policy, sizeof(policy), "require");
                        bool ok = *name;
                        for (const char *p = name; ok && *p; p++)
                                ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                                     strchr(".-_", *p);
                        bool on = streq(policy, "require") || streq(policy, "force");
                        bool off = streq(policy, "disable") || streq(policy, "forbid");
                        if (!ok || (!on && !off)) {
                                char element[96];
                                snprintf(element, sizeof(element), "cpu/feature name='%s'", name);
                                not_imported(im, SEC_CPU, element,
                                             "policy '%s': vmlaunch turns a flag on or off",
                                             policy);
                        } else if (streq(name, "topoext") && on) {
                                add(im, SEC_CPU, "topoext = yes");
                        } else if (vl_strv_pushf(flags, "%c%s", on ? '+' : '-', name) < 0) {
                                im->nomem = 1;
                        }
                } else if (is(c, "cache")) {
                        char cm[16];
                        attr(c, "mode", cm, sizeof(cm));
                        if (streq(cm, "passthrough") && host)
                                cache_pt = true;
                        else
                                not_imported(im, SEC_CPU, "cpu/cache",
                                             "mode '%s': vmlaunch passes the host's cache layout "
                                             "through (model = host) or none",
                                             cm);
                } else if (is(c, "vendor")) {
                        not_imported(im, SEC_CPU, "cpu/vendor", "QEMU's model sets the vendor");
                } else if (is(c, "numa")) {
                        not_imported(im, SEC_CPU, "cpu/numa",
                                     "vmlaunch gives the guest one NUMA node");
                } else if (is(c, "maxphysaddr")) {
                        not_imported(im, SEC_CPU, "cpu/maxphysaddr",
                                     "add host-phys-bits=on to [cpu] flags if it is needed");
                } else {
                        char element[64];
                        snprintf(element, sizeof(element), "cpu/%s", (const char *)c->name);
                        not_imported(im, SEC_CPU, element, "no vmlaunch key");
                }
        }
        if (host || im->have_cpu_model)
                add(im, SEC_CPU, "cache_passthrough = %s", cache_pt ? "yes" : "no");
}

static void map_features(struct import *im, const xmlNode *f, struct vl_strv *flags, bool *smm)
{
        FOR_ELEMENTS(c, f)
        {
                if (is(c, "acpi") || is(c, "apic") || is(c, "pae")) {
                        char element[32];
                        snprintf(element, sizeof(element), "features/%s", (const char *)c->name);
                        covered(im, element);
                } else if (is(c, "hyperv")) {
                        map_hyperv(im, c);
                } else if (is(c, "kvm")) {
                        FOR_ELEMENTS(k, c)
                        {
                                if (is(k, "hidden")) {
                                        add(im, SEC_CPU, "kvm_hidden = %s",
                                            state_on(k) ? "yes" : "no");
                                } else {
                                        char element[64];
                                        snprintf(element, sizeof(element), "features/kvm/%s",
                                                 (const char *)k->name);
                                        not_imported(im, SEC_CPU, element,
                                                     "vmlaunch has kvm_hidden only");
                                }
                        }
                } else if (is(c, "pmu")) {
                        if (vl_strv_push(flags, state_on(c) ? "pmu=on" : "pmu=off") < 0)
                                im->nomem = 1;
                } else if (is(c, "smm")) {
                        *smm = state_on(c);
                } else if (is(c, "ioapic")) {
                        covered(im, "features/ioapic (QEMU's default under KVM)");
                } else if (is(c, "vmport") && !state_on(c)) {
                        not_imported(im, SEC_QEMU, "features/vmport state='off'",
                                     "vmlaunch leaves QEMU's VMware port (on by default; "
                                     "harmless for a Windows guest)");
                } else {
                        char element[64];
                        snprintf(element, sizeof(element), "features/%s", (const char *)c->name);
                        not_imported(im, SEC_OTHER, element, "no vmlaunch key");
                }
        }
}

static void map_clock(struct import *im, const xmlNode *clock)
{
        char offset[32];
        if (attr(clock, "offset", offset, sizeof(offset))) {
                im->clock_localtime = streq(offset, "localtime");
                im->clock_utc = streq(offset, "utc");
                if (!im->clock_localtime && !im->clock_utc)
                        not_imported(im, SEC_QEMU, "clock offset",
                                     "'%s': vmlaunch's clock is UTC, or localtime for a "
                                     "Windows guest ([hyperv] enabled)",
                                     offset);
        }
        FOR_ELEMENTS(t, clock)
        {
                char name[32], policy[16], present[8];
                if (!is(t, "timer")) {
                        not_imported(im, SEC_QEMU, "clock child", "no vmlaunch key");
                        continue;
                }
                attr(t, "name", name, sizeof(name));
                attr(t, "tickpolicy", policy, sizeof(policy));
                bool absent = attr(t, "present", present, sizeof(present)) && streq(present, "no");
                if (streq(name, "hypervclock")) {
                        im->hv[HV_TIME] = !absent;
                } else if (streq(name, "pit") &&
                           (streq(policy, "delay") || streq(policy, "discard"))) {
                        add(im, SEC_QEMU, "pit_lost_tick_policy = %s", policy);
                } else if (streq(name, "rtc") && streq(policy, "catchup") && !absent) {
                        im->rtc_catchup = true;
                } else if (streq(name, "hpet") && absent) {
                        im->hpet_off = true;
                } else if (streq(name, "kvmclock") && absent) {
                        cpu_flag(im, "-kvmclock");
                } else if ((streq(name, "rtc") || streq(name, "pit")) && !*policy && !absent) {
                        covered(im, "clock/timer rtc, pit (QEMU's defaults)");
                } else {
                        char element[96];
                        snprintf(element, sizeof(element), "clock/timer name='%s'", name);
                        not_imported(im, SEC_QEMU, element,
                                     "vmlaunch keeps QEMU's default for this timer%s%s%s",
                                     *policy ? " (tickpolicy " : "", policy, *policy ? ")" : "");
                }
        }
}

static void map_pm(struct import *im, const xmlNode *pm)
{
        FOR_ELEMENTS(c, pm)
        {
                char en[8];
                attr(c, "enabled", en, sizeof(en));
                const char *v = streq(en, "no") ? "no" : "yes";
                if (is(c, "suspend-to-mem"))
                        add(im, SEC_QEMU, "suspend_to_ram = %s", v);
                else if (is(c, "suspend-to-disk"))
                        add(im, SEC_QEMU, "suspend_to_disk = %s", v);
                else
                        not_imported(im, SEC_QEMU, "pm child", "no vmlaunch key");
        }
}

/* ---- devices --------------------------------------------------------------- */

static void map_disk(struct import *im, const xmlNode *d)
{
        char type[16], device[16], buf[INI_VALUE_MAX + 1], element[96];
        attr(d, "type", type, sizeof(type));
        if (!attr(d, "device", device, sizeof(device)))
                snprintf(device, sizeof(device), "disk");
        xmlNode *target = child(d, "target"), *source = child(d, "source"),
                *driver = child(d, "driver");
        char dev[32] = "", bus[16] = "";
        if (target) {
                attr(target, "dev", dev, sizeof(dev));
                attr(target, "bus", bus, sizeof(bus));
        }
        snprintf(element, sizeof(element), "devices/disk %s", *dev ? dev : "(no target)");
        if (!streq(device, "disk") && !streq(device, "cdrom")) {
                not_imported(im, SEC_DISKS, element, "device '%s': vmlaunch has disks and cdroms",
                             device);
                return;
        }
        char path[INI_VALUE_MAX + 1] = "";
        if (source && streq(type, "file"))
                attr(source, "file", path, sizeof(path));
        else if (source && streq(type, "block"))
                attr(source, "dev", path, sizeof(path));
        if (!streq(type, "file") && !streq(type, "block")) {
                not_imported(im, SEC_DISKS, element,
                             "type '%s': vmlaunch opens image files and block devices", type);
                return;
        }
        if (!*path) {
                not_imported(im, SEC_DISKS, element,
                             "an empty drive: vmlaunch needs a path (add one, or a [disk.ID] "
                             "for the ISO)");
                return;
        }
        if (path[0] != '/' || !ini_value_ok(path)) {
                not_imported(im, SEC_DISKS, element, "'%s' cannot be a definition path", path);
                return;
        }
        if (im->ndisks == ELEMENTSOF(im->disks)) {
                not_imported(im, SEC_DISKS, element, "more disks than vmlaunch takes");
                return;
        }
        struct disk *disk = &im->disks[im->ndisks];
        /* The target name is the ID: [disk.vda], [disk.sdb]. */
        size_t o = 0;
        for (const char *p = *dev ? dev : "disk"; *p && o < DISK_ID_MAX; p++)
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || (o && strchr("-_.", *p)))
                        disk->id[o++] = *p;
        if (!o || !((disk->id[0] >= 'a' && disk->id[0] <= 'z') ||
                    (disk->id[0] >= 'A' && disk->id[0] <= 'Z')))
                o = (size_t)snprintf(disk->id, sizeof(disk->id), "disk%u",
                                     (unsigned char)im->ndisks);
        disk->id[o] = '\0';
        for (size_t i = 0; i < im->ndisks; i++)
                if (streq(im->disks[i].id, disk->id))
                        snprintf(disk->id, sizeof(disk->id), "disk%u", (unsigned char)im->ndisks);
        disk->cdrom = streq(device, "cdrom");
        im->ndisks++;
        im->cur_disk = disk;
        struct vl_strv *l = &disk->lines;
#define DISK_LINE(...)                                                                             \
        do {                                                                                       \
                if (vl_strv_pushf(l, __VA_ARGS__) < 0)                                             \
                        im->nomem = 1;                                                             \
        } while (0)
        DISK_LINE("path = %s", path);
        if (disk->cdrom)
                DISK_LINE("media = cdrom");
        /* Bus: vmlaunch has virtio-blk, virtio-scsi and SATA. */
        const char *vbus = NULL;
        if (streq(bus, "virtio"))
                vbus = "virtio-blk";
        else if (streq(bus, "scsi"))
                vbus = "virtio-scsi";
        else if (streq(bus, "sata"))
                vbus = "sata";
        else if (streq(bus, "ide")) {
                vbus = "sata";
                char why[160];
                snprintf(why, sizeof(why),
                         "bus 'ide' becomes sata (vmlaunch has no IDE; q35's SATA is AHCI, "
                         "which a guest installed on IDE may need a driver for)");
                approximated(im, SEC_DISKS, element, "%s", why);
        }
        if (!vbus) {
                not_imported(im, SEC_DISKS, element,
                             "bus '%s': vmlaunch has virtio, scsi (virtio-scsi) and sata; "
                             "virtio-blk taken",
                             bus);
                vbus = disk->cdrom ? "sata" : "virtio-blk";
        }
        if (disk->cdrom && streq(vbus, "virtio-blk"))
                vbus = "sata";
        DISK_LINE("bus = %s", vbus);
        if (driver) {
                char fmt[16], cache[16], io[16], discard[16], iothread[16];
                if (attr(driver, "type", fmt, sizeof(fmt))) {
                        if (streq(fmt, "qcow2") || streq(fmt, "raw"))
                                DISK_LINE("format = %s", fmt);
                        else
                                not_imported(im, SEC_DISKS, element,
                                             "driver type '%s': vmlaunch opens qcow2 and raw "
                                             "(qemu-img convert)",
                                             fmt);
                } else {
                        /* libvirt takes raw when the type is not given; vmlaunch would
                         * guess qcow2 from a .qcow2 name. */
                        DISK_LINE("format = raw");
                }
                if (attr(driver, "cache", cache, sizeof(cache))) {
                        if (streq(cache, "none") || streq(cache, "writeback") ||
                            streq(cache, "writethrough") || streq(cache, "directsync") ||
                            streq(cache, "unsafe"))
                                DISK_LINE("cache = %s", cache);
                        else
                                not_imported(im, SEC_DISKS, element, "cache '%s'", cache);
                } else {
                        /* QEMU's (and libvirt's) default is writeback; vmlaunch's none. */
                        DISK_LINE("cache = writeback");
                }
                if (attr(driver, "io", io, sizeof(io))) {
                        if (streq(io, "native") || streq(io, "threads") || streq(io, "io_uring"))
                                DISK_LINE("aio = %s", io);
                        else
                                not_imported(im, SEC_DISKS, element, "io '%s'", io);
                }
                if (attr(driver, "discard", discard, sizeof(discard))) {
                        if (streq(discard, "unmap") || streq(discard, "ignore"))
                                DISK_LINE("discard = %s", discard);
                } else {
                        DISK_LINE("discard = ignore");
                }
                if (attr(driver, "iothread", iothread, sizeof(iothread))) {
                        char name[32];
                        snprintf(name, sizeof(name), "iothread%s", iothread);
                        if (iothread_index(im, name) >= 0 && !streq(vbus, "sata"))
                                DISK_LINE("iothread = %s", name);
                        else
                                not_imported(im, SEC_DISKS, element,
                                             "iothread '%s' is not a defined iothread or the "
                                             "disk is on SATA",
                                             iothread);
                }
                if (child(driver, "iothreads"))
                        not_imported(im, SEC_DISKS, element,
                                     "driver/iothreads (queues spread over iothreads): vmlaunch "
                                     "gives a disk one iothread");
                char q[16];
                if (attr(driver, "queues", q, sizeof(q)))
                        not_imported(im, SEC_DISKS, element,
                                     "driver queues='%s': QEMU's default number of queues", q);
        } else {
                DISK_LINE("format = raw");
                DISK_LINE("cache = writeback");
                DISK_LINE("discard = ignore");
        }
        FOR_ELEMENTS(c, d)
        {
                if (is(c, "readonly")) {
                        if (!disk->cdrom && !streq(vbus, "sata"))
                                DISK_LINE("readonly = yes");
                        else if (!disk->cdrom)
                                not_imported(im, SEC_DISKS, element,
                                             "readonly: QEMU has no read-only SATA disk");
                } else if (is(c, "boot")) {
                        char order[8];
                        unsigned long long o2;
                        if (attr(c, "order", order, sizeof(order)) && parse_uint(order, 99, &o2))
                                disk->boot = (int)o2;
                } else if (is(c, "serial")) {
                        char serial[32];
                        text(c, serial, sizeof(serial));
                        bool ok = *serial && strlen(serial) <= 20;
                        for (const char *p = serial; ok && *p; p++)
                                ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                     (*p >= '0' && *p <= '9') || strchr("_.-", *p);
                        if (ok)
                                DISK_LINE("serial = %s", serial);
                        else
                                not_imported(im, SEC_DISKS, element,
                                             "serial '%s' is not 1 to 20 of [A-Za-z0-9_.-]",
                                             serial);
                } else if (is(c, "source") || is(c, "target") || is(c, "driver") ||
                           is(c, "address") || is(c, "alias")) {
                        continue; /* read above; addresses are vmlaunch's to choose */
                } else {
                        char sub[128];
                        snprintf(sub, sizeof(sub), "%s/%s", element, (const char *)c->name);
                        not_imported(im, SEC_DISKS, sub, "no vmlaunch key");
                }
        }
#undef DISK_LINE
        im->cur_disk = NULL;
        (void)buf;
}

static void map_hostdev(struct import *im, const xmlNode *h)
{
        char mode[16], type[16];
        attr(h, "mode", mode, sizeof(mode));
        attr(h, "type", type, sizeof(type));
        xmlNode *source = child(h, "source");
        if (streq(type, "usb") && source) {
                xmlNode *v = child(source, "vendor"), *p = child(source, "product");
                char vid[16] = "", pid[16] = "";
                if (v)
                        attr(v, "id", vid, sizeof(vid));
                if (p)
                        attr(p, "id", pid, sizeof(pid));
                if (!*vid || !*pid || strncmp(vid, "0x", 2) || strncmp(pid, "0x", 2) ||
                    strlen(vid) != 6 || strlen(pid) != 6) {
                        not_imported(im, SEC_DEVICES, "devices/hostdev type='usb'",
                                     "vmlaunch passes a USB device by its vendor and product ID "
                                     "(0xXXXX each), which this one does not give");
                        return;
                }
                add(im, SEC_DEVICES, "[usb.usb%u]", im->usb++);
                add(im, SEC_DEVICES, "vendor = %s", vid + 2);
                add(im, SEC_DEVICES, "product = %s", pid + 2);
                add(im, SEC_DEVICES, "%s", "");
                return;
        }
        if (!streq(type, "pci") || !source || !child(source, "address")) {
                not_imported(im, SEC_GPU, "devices/hostdev",
                             "type '%s': vmlaunch passes PCI devices (the GPU's group) and USB "
                             "devices",
                             type);
                return;
        }
        xmlNode *a = child(source, "address");
        char dom[16], bus[16], slot[16], fn[16];
        if (!attr(a, "domain", dom, sizeof(dom)))
                snprintf(dom, sizeof(dom), "0x0000");
        attr(a, "bus", bus, sizeof(bus));
        attr(a, "slot", slot, sizeof(slot));
        attr(a, "function", fn, sizeof(fn));
        unsigned long d = strtoul(dom, NULL, 16), b = strtoul(bus, NULL, 16),
                      s = strtoul(slot, NULL, 16), f = strtoul(fn, NULL, 16);
        if (d > 0xffff || b > 0xff || s > 0x1f || f > 7 || !*bus || !*slot || !*fn) {
                not_imported(im, SEC_GPU, "devices/hostdev type='pci'", "not a PCI address");
                return;
        }
        if (im->nhostdevs == HOSTDEVS_MAX) {
                not_imported(im, SEC_GPU, "devices/hostdev type='pci'", "too many");
                return;
        }
        struct hostdev *hd = &im->hostdevs[im->nhostdevs++];
        snprintf(hd->addr, sizeof(hd->addr), "%04lx:%02lx:%02lx.%lx", d, b, s, f);
        unsigned cls;
        hd->pci_class =
                im->opts->pci_class && im->opts->pci_class(hd->addr, &cls,
                                                           im->opts->pci_class_userdata) == 0
                        ? (int)cls
                        : -1;
        xmlNode *rom = child(h, "rom");
        if (rom) {
                char file[INI_VALUE_MAX + 1], bar[8];
                if (attr(rom, "file", file, sizeof(file))) {
                        if (file[0] == '/' && ini_value_ok(file))
                                snprintf(hd->rom, sizeof(hd->rom), "%s", file);
                        else
                                not_imported(im, SEC_GPU, "hostdev/rom file",
                                             "'%s' cannot be a definition path", file);
                }
                if (attr(rom, "bar", bar, sizeof(bar)) && streq(bar, "off"))
                        not_imported(im, SEC_GPU, "hostdev/rom bar='off'",
                                     "vmlaunch leaves the device's ROM BAR on");
        }
}

static void write_gpu(struct import *im)
{
        if (!im->nhostdevs)
                return;
        /* The GPU: the first display-class device (0x03....); when the host cannot say
         * (no such device here), the first one, and the user is told. */
        struct hostdev *gpu = NULL;
        bool classes_known = false;
        for (size_t i = 0; i < im->nhostdevs; i++) {
                classes_known = classes_known || im->hostdevs[i].pci_class >= 0;
                if (!gpu && im->hostdevs[i].pci_class >= 0 &&
                    (im->hostdevs[i].pci_class >> 16) == 0x03)
                        gpu = &im->hostdevs[i];
        }
        if (!gpu && classes_known) {
                for (size_t i = 0; i < im->nhostdevs; i++)
                        not_imported(im, SEC_GPU, "devices/hostdev type='pci'",
                                     "%s is no display controller: vmlaunch passes through the "
                                     "GPU's IOMMU group only",
                                     im->hostdevs[i].addr);
                return;
        }
        if (!gpu) {
                gpu = &im->hostdevs[0];
                approximated(im, SEC_GPU, "devices/hostdev type='pci'",
                             "%s taken as the GPU: this host has no such device to read its "
                             "class from",
                             gpu->addr);
        }
        im->res->has_gpu = true;
        if (im->i440fx) {
                /* vmlaunch refuses a GPU on i440fx (no PCIe for its root port): the
                 * definition would not load as libvirt's machine */
                struct vl_strv *q = &im->lines[SEC_QEMU];
                for (size_t i = 0; i < q->count; i++) {
                        if (strncmp(q->items[i], "machine = ", 10) != 0)
                                continue;
                        char *q35 = strdup("machine = q35");
                        if (!q35) {
                                im->nomem = 1;
                                break;
                        }
                        free(q->items[i]);
                        q->items[i] = q35;
                }
                approximated(im, SEC_QEMU, "os/type machine",
                             "i440fx ('pc') has no PCIe for the GPU's root port: imported as "
                             "q35 (a new chipset: Windows sets up its drivers once)");
        }
        add(im, SEC_GPU, "address = %s", gpu->addr);
        if (*gpu->rom)
                add(im, SEC_GPU, "romfile = %s", gpu->rom);
        /* The other functions of its slot are its group as the domain saw it. */
        char group[256];
        size_t used = 0, members = 0;
        for (size_t i = 0; i < im->nhostdevs; i++) {
                struct hostdev *h = &im->hostdevs[i];
                /* DDDD:BB:SS, the slot */
                if (strncmp(h->addr, gpu->addr, 10) == 0 && members < 8) {
                        used += (size_t)snprintf(group + used, sizeof(group) - used, "%s%s",
                                                 used ? ", " : "", h->addr);
                        members++;
                        h->taken = true;
                        if (h != gpu && *h->rom)
                                not_imported(im, SEC_GPU, "hostdev/rom file",
                                             "%s: vmlaunch takes a ROM for the GPU only", h->addr);
                }
        }
        if (members > 1) {
                add(im, SEC_GPU,
                    "# the functions the domain passed through; the host's IOMMU "
                    "group wins");
                add(im, SEC_GPU, "group = %s", group);
        } else {
                add(im, SEC_GPU,
                    "# vmlaunch passes the GPU's whole IOMMU group (its audio "
                    "function too)");
        }
        for (size_t i = 0; i < im->nhostdevs; i++)
                if (!im->hostdevs[i].taken)
                        not_imported(im, SEC_GPU, "devices/hostdev type='pci'",
                                     "%s is outside the GPU's slot: vmlaunch passes through the "
                                     "GPU's IOMMU group only",
                                     im->hostdevs[i].addr);
}

static void map_input(struct import *im, const xmlNode *in)
{
        char type[16], bus[16];
        attr(in, "type", type, sizeof(type));
        attr(in, "bus", bus, sizeof(bus));
        if (streq(type, "evdev")) {
                xmlNode *s = child(in, "source");
                char dev[INI_VALUE_MAX + 1] = "", grab[16] = "", repeat[8] = "", toggle[32] = "";
                if (s) {
                        attr(s, "dev", dev, sizeof(dev));
                        attr(s, "grab", grab, sizeof(grab));
                        attr(s, "repeat", repeat, sizeof(repeat));
                        attr(s, "grabToggle", toggle, sizeof(toggle));
                }
                if (dev[0] != '/' || !ini_value_ok(dev)) {
                        not_imported(im, SEC_DEVICES, "devices/input type='evdev'",
                                     "source dev '%s' cannot be a definition path", dev);
                        return;
                }
                add(im, SEC_DEVICES, "[evdev.evdev%u]", im->evdev++);
                add(im, SEC_DEVICES, "path = %s", dev);
                if (streq(grab, "all"))
                        add(im, SEC_DEVICES, "grab_all = yes");
                if (streq(repeat, "on"))
                        add(im, SEC_DEVICES, "repeat = yes");
                static const char *const toggles[] = {"ctrl-ctrl", "alt-alt",    "shift-shift",
                                                      "meta-meta", "scrolllock", "ctrl-scrolllock"};
                bool ok = false;
                for (size_t i = 0; i < ELEMENTSOF(toggles); i++)
                        ok = ok || streq(toggle, toggles[i]);
                if (ok)
                        add(im, SEC_DEVICES, "grab_toggle = %s", toggle);
                else if (*toggle)
                        not_imported(im, SEC_DEVICES, "input/source grabToggle",
                                     "'%s' is no toggle vmlaunch knows", toggle);
                add(im, SEC_DEVICES, "%s", "");
        } else if ((streq(type, "mouse") || streq(type, "keyboard")) && streq(bus, "ps2")) {
                covered(im, "devices/input ps2 (part of the machine)");
        } else {
                char element[64];
                snprintf(element, sizeof(element), "devices/input type='%s' bus='%s'", type, bus);
                not_imported(im, SEC_DEVICES, element,
                             "vmlaunch passes evdev devices (or USB devices, [usb.ID])");
        }
}

static void map_interface(struct import *im, const xmlNode *ifc)
{
        char type[16], model[32] = "", mac[32] = "", src[64] = "";
        attr(ifc, "type", type, sizeof(type));
        xmlNode *s = child(ifc, "source"), *m = child(ifc, "model"), *a = child(ifc, "mac");
        if (m)
                attr(m, "type", model, sizeof(model));
        if (a)
                attr(a, "address", mac, sizeof(mac));
        if (!streq(type, "network") && !streq(type, "bridge") && !streq(type, "user")) {
                char element[64];
                snprintf(element, sizeof(element), "devices/interface type='%s'", type);
                not_imported(im, SEC_DEVICES, element,
                             "vmlaunch has user-mode networking and bridges");
                return;
        }
        bool bridge_ok = streq(type, "bridge") && s && attr(s, "bridge", src, sizeof(src)) &&
                         ini_value_ok(src) && !strpbrk(src, " \t,;#");
        if (streq(type, "bridge") && !bridge_ok) {
                not_imported(im, SEC_DEVICES, "devices/interface type='bridge'",
                             "the bridge '%s' is no interface name", src);
                return;
        }
        unsigned id = im->net++;
        add(im, SEC_DEVICES, "[net.net%u]", id);
        if (bridge_ok) {
                add(im, SEC_DEVICES, "mode = bridge");
                add(im, SEC_DEVICES, "bridge = %s", src);
        } else {
                if (streq(type, "network")) {
                        if (s)
                                attr(s, "network", src, sizeof(src));
                        approximated(im, SEC_DEVICES, "devices/interface type='network'",
                                     "libvirt's network '%s' (NAT on its own bridge) becomes "
                                     "QEMU's user-mode networking; for the LAN use mode = bridge",
                                     src);
                }
                add(im, SEC_DEVICES, "mode = user");
        }
        if (*model) {
                bool ok = (model[0] >= 'a' && model[0] <= 'z') ||
                          (model[0] >= 'A' && model[0] <= 'Z');
                for (const char *p = model; ok && *p; p++)
                        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                             (*p >= '0' && *p <= '9') || strchr("-_", *p);
                if (streq(model, "virtio"))
                        add(im, SEC_DEVICES, "model = virtio-net-pci");
                else if (ok)
                        add(im, SEC_DEVICES, "model = %s", model);
                else
                        not_imported(im, SEC_DEVICES, "interface/model", "'%s'", model);
        } else {
                /* libvirt's default model on x86 without one given. */
                add(im, SEC_DEVICES, "model = rtl8139");
        }
        bool mac_ok = strlen(mac) == 17;
        for (size_t i = 0; mac_ok && i < 17; i++)
                mac_ok = i % 3 == 2 ? mac[i] == ':'
                                    : (mac[i] >= '0' && mac[i] <= '9') ||
                                              (mac[i] >= 'a' && mac[i] <= 'f') ||
                                              (mac[i] >= 'A' && mac[i] <= 'F');
        if (mac_ok)
                add(im, SEC_DEVICES, "mac = %s", mac);
        else if (*mac)
                not_imported(im, SEC_DEVICES, "interface/mac", "'%s' is no MAC address", mac);
        FOR_ELEMENTS(c, ifc)
        {
                if (is(c, "source") || is(c, "model") || is(c, "mac") || is(c, "address") ||
                    is(c, "alias") || is(c, "target"))
                        continue;
                char element[64];
                snprintf(element, sizeof(element), "interface/%s", (const char *)c->name);
                not_imported(im, SEC_DEVICES, element, "no vmlaunch key");
        }
        add(im, SEC_DEVICES, "%s", "");
}

static void map_graphics(struct import *im, const xmlNode *g)
{
        char type[16], port[16], listen[64] = "", passwd[8];
        attr(g, "type", type, sizeof(type));
        if (!streq(type, "vnc")) {
                char element[64];
                snprintf(element, sizeof(element), "devices/graphics type='%s'", type);
                not_imported(im, SEC_QEMU, element,
                             "vmlaunch offers VNC, gtk and sdl; add a display key by hand");
                return;
        }
        attr(g, "listen", listen, sizeof(listen));
        long p = attr(g, "port", port, sizeof(port)) ? strtol(port, NULL, 10) : -1;
        long n = p >= 5900 && p <= 5999 ? p - 5900 : 0;
        if (p < 5900 || p > 5999)
                approximated(im, SEC_QEMU, "devices/graphics type='vnc'",
                             "port %s (autoport): display :0 (5900)", port);
        if (*listen && !streq(listen, "127.0.0.1") && !streq(listen, "::1"))
                approximated(im, SEC_QEMU, "devices/graphics listen",
                             "'%s': vmlaunch serves VNC on 127.0.0.1 unless a password file "
                             "is set ([qemu] vnc_password_file)",
                             listen);
        if (attr(g, "passwd", passwd, sizeof(passwd)))
                not_imported(im, SEC_QEMU, "devices/graphics passwd",
                             "vmlaunch reads the password from [qemu] vnc_password_file");
        add(im, SEC_QEMU, "display = vnc=:%ld", n);
}

static void map_video(struct import *im, const xmlNode *v)
{
        xmlNode *m = child(v, "model");
        char type[16] = "";
        if (m)
                attr(m, "type", type, sizeof(type));
        if (streq(type, "none"))
                add(im, SEC_QEMU, "vga = none");
        else if (streq(type, "vga"))
                add(im, SEC_QEMU, "vga = std");
        else if (streq(type, "virtio"))
                add(im, SEC_QEMU, "vga = virtio");
        else
                not_imported(im, SEC_QEMU, "devices/video",
                             "model '%s': vmlaunch has none, std and virtio", type);
}

static void map_devices(struct import *im, const xmlNode *devs)
{
        FOR_ELEMENTS(c, devs)
        {
                char type[32] = "", model[32] = "", element[96];
                attr(c, "type", type, sizeof(type));
                attr(c, "model", model, sizeof(model));
                if (is(c, "disk")) {
                        map_disk(im, c);
                } else if (is(c, "hostdev")) {
                        map_hostdev(im, c);
                } else if (is(c, "input")) {
                        map_input(im, c);
                } else if (is(c, "interface")) {
                        map_interface(im, c);
                } else if (is(c, "graphics")) {
                        map_graphics(im, c);
                } else if (is(c, "video")) {
                        map_video(im, c);
                } else if (is(c, "emulator")) {
                        char path[INI_VALUE_MAX + 1];
                        text(c, path, sizeof(path));
                        const char *base = strrchr(path, '/');
                        if (base && streq(base + 1, "qemu-system-x86_64"))
                                covered(im, "devices/emulator (qemu-system-x86_64 from PATH)");
                        else if (path[0] == '/' && ini_value_ok(path))
                                add(im, SEC_QEMU, "binary = %s", path);
                        else
                                not_imported(im, SEC_QEMU, "devices/emulator",
                                             "'%s' cannot be a definition path", path);
                } else if (is(c, "controller")) {
                        if (streq(type, "scsi") && *model && !streq(model, "virtio-scsi"))
                                not_imported(im, SEC_DISKS, "devices/controller type='scsi'",
                                             "model '%s': vmlaunch's SCSI disks are on "
                                             "virtio-scsi",
                                             model);
                        else
                                covered(im, "devices/controller (vmlaunch lays out its own)");
                } else if (is(c, "memballoon")) {
                        if (streq(model, "none"))
                                covered(im, "devices/memballoon model='none'");
                        else
                                not_imported(im, SEC_MEMORY, "devices/memballoon",
                                             "vmlaunch adds no balloon: with a passed-through "
                                             "GPU all guest RAM is pinned and cannot be given "
                                             "back");
                } else if (is(c, "audio") && streq(type, "none")) {
                        covered(im, "devices/audio type='none'");
                } else if (is(c, "channel")) {
                        xmlNode *t = child(c, "target");
                        char name[64] = "";
                        if (t)
                                attr(t, "name", name, sizeof(name));
                        if (streq(name, "org.qemu.guest_agent.0"))
                                add(im, SEC_GUEST, "agent = yes");
                        else {
                                snprintf(element, sizeof(element), "devices/channel %s",
                                         *name ? name : type);
                                not_imported(im, SEC_QEMU, element,
                                             "vmlaunch has the guest agent's channel only "
                                             "([qemu] args for others)");
                        }
                } else if (is(c, "serial") && streq(type, "pty")) {
                        add(im, SEC_QEMU, "serial = pty");
                } else if (is(c, "console") && streq(type, "pty")) {
                        covered(im, "devices/console (the serial port)");
                } else if (is(c, "tpm")) {
                        xmlNode *b = child(c, "backend");
                        char bt[16] = "", ver[8] = "";
                        if (b) {
                                attr(b, "type", bt, sizeof(bt));
                                attr(b, "version", ver, sizeof(ver));
                        }
                        if (streq(bt, "emulator") && (!*ver || streq(ver, "2.0"))) {
                                add(im, SEC_TPM, "enabled = yes");
                                if (*model && !streq(model, "tpm-crb"))
                                        approximated(im, SEC_TPM, "devices/tpm model",
                                                     "'%s' becomes tpm-crb; the TPM's state "
                                                     "is a new one under [tpm] state_dir",
                                                     model);
                                else
                                        add(im, SEC_TPM,
                                            "# a new TPM: libvirt's swtpm state "
                                            "stays in /var/lib/libvirt/swtpm");
                        } else {
                                not_imported(im, SEC_TPM, "devices/tpm",
                                             "backend '%s' version '%s': vmlaunch emulates a "
                                             "TPM 2.0 with swtpm",
                                             bt, ver);
                        }
                } else if (is(c, "sound")) {
                        not_imported(im, SEC_QEMU, "devices/sound",
                                     "vmlaunch emulates no sound card: the GPU's HDMI audio "
                                     "goes with it, or pass a USB audio device ([usb.ID])");
                } else if (is(c, "shmem")) {
                        not_imported(im, SEC_QEMU, "devices/shmem",
                                     "no vmlaunch key (Looking Glass: an ivshmem -object and "
                                     "-device in [qemu] args)");
                } else {
                        snprintf(element, sizeof(element), "devices/%s%s%s%s",
                                 (const char *)c->name, *type ? " type='" : "", type,
                                 *type ? "'" : "");
                        not_imported(im, SEC_OTHER, element, "no vmlaunch key");
                }
        }
}

/* <qemu:commandline><qemu:arg value='...'/>: [qemu] args, quoted for its word splitting. */
static void map_qemu_commandline(struct import *im, const xmlNode *cl, struct vl_strv *args)
{
        FOR_ELEMENTS(c, cl)
        {
                char v[INI_VALUE_MAX + 1];
                if (is(c, "arg") && attr(c, "value", v, sizeof(v))) {
                        if (!ini_value_ok(v) || strchr(v, '\'')) {
                                not_imported(im, SEC_QEMU, "qemu:commandline/qemu:arg",
                                             "'%s' cannot be written in [qemu] args", v);
                                continue;
                        }
                        bool plain = true;
                        for (const char *p = v; *p; p++)
                                plain = plain && !strchr(" \t\"\\$`'#;", *p);
                        if (vl_strv_pushf(args, plain ? "%s" : "'%s'", v) < 0)
                                im->nomem = 1;
                } else {
                        char element[64];
                        snprintf(element, sizeof(element), "qemu:commandline/qemu:%s",
                                 (const char *)c->name);
                        not_imported(im, SEC_QEMU, element,
                                     "vmlaunch passes arguments, not environment variables");
                }
        }
}

/* ---- the whole domain ------------------------------------------------------ */

static void write_cpu(struct import *im, struct vl_strv *flags)
{
        if (!im->have_cpu_model) {
                /* libvirt starts QEMU without -cpu, so QEMU's default model. */
                add(im, SEC_CPU, "# no <cpu> model in the domain: QEMU's default, as libvirt");
                add(im, SEC_CPU, "model = qemu64");
                add(im, SEC_CPU, "cache_passthrough = no");
        }
        unsigned s = im->sockets, d = im->dies, c = im->cores, t = im->threads;
        if (!im->have_topology || (im->vcpus && s * d * c * t != im->vcpus)) {
                if (im->have_topology)
                        approximated(im, SEC_CPU, "cpu/topology",
                                     "%u x %u x %u x %u is not the %u vCPUs; one socket per "
                                     "vCPU, as libvirt without a topology",
                                     s, d, c, t, im->vcpus);
                unsigned n = im->vcpus ? im->vcpus : 2;
                /* libvirt's default: one socket per vCPU; vmlaunch has at most 64. */
                s = n <= 64 ? n : 1;
                c = n <= 64 ? 1 : n;
                d = t = 1;
        }
        add(im, SEC_CPU, "sockets = %u", s);
        add(im, SEC_CPU, "dies = %u", d);
        add(im, SEC_CPU, "cores = %u", c);
        add(im, SEC_CPU, "threads = %u", t);
        if (flags->count) {
                char line[INI_VALUE_MAX * 2];
                size_t used = 0;
                for (size_t i = 0; i < flags->count; i++)
                        used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s",
                                                 used ? ", " : "", flags->items[i]);
                if (used < INI_VALUE_MAX)
                        add(im, SEC_CPU, "flags = %s", line);
                else
                        not_imported(im, SEC_CPU, "cpu/feature", "too many flags for one line");
        }
        write_vcpu_pins(im);
}

static void write_iothreads(struct import *im)
{
        for (size_t i = 0; i < im->iothread_ids.count; i++)
                add(im, SEC_IOTHREADS, "%s =%s%s", im->iothread_ids.items[i],
                    *im->iothread_pins.items[i] ? " " : "", im->iothread_pins.items[i]);
}

static void write_disks(struct import *im)
{
        /* <os><boot dev='hd'/> (and cdrom) number the first disk of each kind, in the
         * order given, when no disk has its own <boot order>. */
        bool any_order = false;
        for (size_t i = 0; i < im->ndisks; i++)
                any_order = any_order || im->disks[i].boot;
        int next = 1;
        for (size_t b = 0; b < im->boot_devs.count && !any_order; b++) {
                const char *dev = im->boot_devs.items[b];
                if (streq(dev, "hd") || streq(dev, "cdrom")) {
                        for (size_t i = 0; i < im->ndisks; i++)
                                if (im->disks[i].cdrom == streq(dev, "cdrom") &&
                                    !im->disks[i].boot) {
                                        im->disks[i].boot = next++;
                                        break;
                                }
                } else {
                        char element[64];
                        snprintf(element, sizeof(element), "os/boot dev='%s'", dev);
                        not_imported(im, SEC_DISKS, element, "vmlaunch boots from disks");
                }
        }
        for (size_t i = 0; i < im->ndisks; i++) {
                struct disk *d = &im->disks[i];
                add(im, SEC_DISKS, "[disk.%s]", d->id);
                for (size_t j = 0; j < d->lines.count; j++)
                        add(im, SEC_DISKS, "%s", d->lines.items[j]);
                if (d->boot)
                        add(im, SEC_DISKS, "boot = %d", d->boot);
                add(im, SEC_DISKS, "%s", "");
        }
}

static void write_args(struct import *im, struct vl_strv *args)
{
        if (!args->count)
                return;
        /* Continuation lines keep each line short; the parts are joined with a blank. */
        char line[INI_VALUE_MAX + 1];
        size_t used = 0;
        bool first = true;
        for (size_t i = 0; i <= args->count; i++) {
                const char *w = i < args->count ? args->items[i] : NULL;
                if (w && used + strlen(w) + 1 < 72) {
                        used += (size_t)snprintf(line + used, sizeof(line) - used, "%s%s",
                                                 used ? " " : "", w);
                        continue;
                }
                if (used) {
                        add(im, SEC_QEMU, first ? "args = %s" : "        %s", line);
                        first = false;
                }
                used = w ? (size_t)snprintf(line, sizeof(line), "%s", w) : 0;
        }
}

static char *render(struct import *im, const char *domain_name)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        fprintf(f,
                "# vmlaunch definition imported from the libvirt domain '%s' by\n"
                "# `vmlaunch import-libvirt`. Read every \"not imported\" and \"imported\n"
                "# differently\" line below, then `vmlaunch check %s`.\n",
                domain_name, im->res->name);
        if (im->covered.count) {
                fprintf(f, "#\n# Done by vmlaunch itself, so not written here:\n");
                for (size_t i = 0; i < im->covered.count; i++)
                        fprintf(f, "#   %s\n", im->covered.items[i]);
        }
        for (int s = 0; s < SEC_COUNT; s++) {
                if (!im->lines[s].count)
                        continue;
                if (section_names[s])
                        fprintf(f, "\n[%s]\n", section_names[s]);
                else if (s == SEC_OTHER)
                        fprintf(f, "\n# Elsewhere in the domain:\n");
                else
                        fprintf(f, "\n");
                for (size_t i = 0; i < im->lines[s].count; i++)
                        fprintf(f, "%s\n", im->lines[s].items[i]);
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        /* Blank lines written at the end of device blocks pile up: one is enough. */
        size_t o = 0;
        for (size_t i = 0; buf[i]; i++)
                if (!(buf[i] == '\n' && o >= 2 && buf[o - 1] == '\n' && buf[o - 2] == '\n'))
                        buf[o++] = buf[i];
        while (o >= 2 && buf[o - 1] == '\n' && buf[o - 2] == '\n')
                o--;
        buf[o] = '\0';
        return buf;
}

static void map_domain(struct import *im, const xmlNode *domain, const char *domain_name)
{
        unsigned long long mem = 0;
        bool hugepages = false, gig = false, smm = false;
        struct vl_strv flags = {0}, args = {0};
        for (size_t i = 0; i < VCPUS_MAX; i++)
                im->vcpu_pin[i] = -1;
        for (int k = 0; k < HV_COUNT; k++)
                im->hv[k] = -1;
        attr(domain, "type", im->domain_type, sizeof(im->domain_type));
        map_name(im, domain);
        if (streq(im->domain_type, "kvm"))
                add(im, SEC_QEMU, "accel = kvm");
        else if (streq(im->domain_type, "qemu"))
                add(im, SEC_QEMU, "accel = tcg");
        else
                not_imported(im, SEC_QEMU, "domain type",
                             "'%s': vmlaunch runs QEMU with KVM or TCG; accel = auto",
                             im->domain_type);
        /* Iothreads first: disks and cputune refer to them. */
        map_iothreads(im, domain);
        map_memory(im, domain, &mem);
        FOR_ELEMENTS(c, domain)
        {
                char element[64];
                if (is(c, "name") || is(c, "memory") || is(c, "iothreads") ||
                    is(c, "iothreadids")) {
                        continue;
                } else if (is(c, "description") || is(c, "title")) {
                        map_description(im, c);
                } else if (is(c, "uuid")) {
                        /* The guest's machine UUID (Windows' activation looks at it):
                         * vmlaunch has no key for it, so it goes in [qemu] args. */
                        char uuid[64];
                        text(c, uuid, sizeof(uuid));
                        bool ok = strlen(uuid) == 36;
                        for (const char *p = uuid; ok && *p; p++)
                                ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                                     (*p >= 'A' && *p <= 'F') || *p == '-';
                        if (ok) {
                                if (vl_strv_push(&args, "-uuid") < 0 ||
                                    vl_strv_push(&args, uuid) < 0)
                                        im->nomem = 1;
                        } else {
                                not_imported(im, SEC_VM, "uuid", "'%s' is not a UUID", uuid);
                        }
                } else if (is(c, "currentMemory")) {
                        unsigned long long cur = 0;
                        if (memory_bytes(c, &cur) && cur != mem)
                                not_imported(im, SEC_MEMORY, "currentMemory",
                                             "the guest gets all of <memory>: no balloon");
                } else if (is(c, "maxMemory")) {
                        not_imported(im, SEC_MEMORY, "maxMemory", "no memory hot-plug");
                } else if (is(c, "memoryBacking")) {
                        map_memory_backing(im, c, &gig, &hugepages);
                } else if (is(c, "vcpu")) {
                        map_vcpu(im, c);
                } else if (is(c, "cputune")) {
                        map_cputune(im, c);
                } else if (is(c, "os")) {
                        map_os(im, c, domain);
                } else if (is(c, "features")) {
                        map_features(im, c, &flags, &smm);
                } else if (is(c, "cpu")) {
                        map_cpu(im, c, &flags);
                } else if (is(c, "clock")) {
                        map_clock(im, c);
                } else if (is(c, "pm")) {
                        map_pm(im, c);
                } else if (is(c, "devices")) {
                        map_devices(im, c);
                } else if (is(c, "on_poweroff") || is(c, "on_reboot") || is(c, "on_crash")) {
                        char v[32];
                        text(c, v, sizeof(v));
                        bool usual = (is(c, "on_reboot") && streq(v, "restart")) ||
                                     (!is(c, "on_reboot") && streq(v, "destroy"));
                        snprintf(element, sizeof(element), "%s", (const char *)c->name);
                        if (usual)
                                covered(im, "on_poweroff, on_reboot, on_crash (QEMU's own)");
                        else
                                not_imported(im, SEC_VM, element,
                                             "'%s': a guest's reboot restarts it and a "
                                             "poweroff or crash ends the run",
                                             v);
                } else if (is(c, "seclabel")) {
                        covered(im, "seclabel (QEMU runs as its own user, seccomp on)");
                } else if (is(c, "resource") || is(c, "metadata") || is(c, "genid") ||
                           is(c, "sysinfo")) {
                        snprintf(element, sizeof(element), "%s", (const char *)c->name);
                        not_imported(im, SEC_OTHER, element,
                                     is(c, "sysinfo") ? "vmlaunch copies the host's SMBIOS or none"
                                                      : "libvirt's own bookkeeping");
                } else if (is(c, "commandline") && c->ns && c->ns->href &&
                           streq((const char *)c->ns->href, QEMU_NS)) {
                        map_qemu_commandline(im, c, &args);
                } else {
                        snprintf(element, sizeof(element), "%s%s%s",
                                 c->ns && c->ns->prefix ? (const char *)c->ns->prefix : "",
                                 c->ns && c->ns->prefix ? ":" : "", (const char *)c->name);
                        not_imported(im, SEC_OTHER, element, "no vmlaunch key");
                }
        }
        /* kvmclock off was queued as a flag by map_clock. */
        for (size_t i = 0; i < im->qemu_args.count; i++)
                if (vl_strv_push(&flags, im->qemu_args.items[i]) < 0)
                        im->nomem = 1;
        if (smm)
                covered(im, "features/smm (vmlaunch turns it on when the firmware needs it)");
        write_memory(im, mem, hugepages, gig);
        write_cpu(im, &flags);
        resolve_clock(im);
        write_hyperv(im);
        write_iothreads(im);
        write_disks(im);
        write_gpu(im);
        write_args(im, &args);
        if (!im->res->has_gpu)
                add(im, SEC_HOST, "# no GPU passed through: nothing to take from the host");
        add(im, SEC_HOST,
            "# vmlaunch's defaults: the display manager, consoles, framebuffer "
            "and the GPU's drivers");
        add(im, SEC_HOST, "# are freed while the VM runs (see `vmlaunch plan %s`)", im->res->name);
        if (!im->res->has_gpu) {
                add(im, SEC_HOST, "vtconsoles = off");
                add(im, SEC_HOST, "framebuffer = off");
                add(im, SEC_HOST, "unload_modules = off");
        }
        vl_strv_free(&flags);
        vl_strv_free(&args);
        (void)domain_name;
}

static bool valid_name(const char *s)
{
        size_t n = strlen(s);
        if (!n || n > 64 ||
            !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
              (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || strchr("_.-", *p)))
                        return false;
        return true;
}

/* libxml2 prints parse errors through a global handler: swallowed here, the caller
 * gets the last one from the parser context instead. */
static void xml_quiet(void *ctx, const char *msg, ...)
{
        (void)ctx;
        (void)msg;
}

int importer_libvirt_domain(const char *xml, size_t len, const struct importer_options *opts,
                            struct importer_result *res, struct vl_error *err)
{
        *res = (struct importer_result){0};
        if (opts->name && !valid_name(opts->name))
                return vl_error_set(err, EINVAL,
                                    "--name '%s': expected 1 to 64 letters, digits, _ . -, "
                                    "starting with a letter or digit",
                                    opts->name);
        if (len > IMPORTER_XML_MAX_BYTES)
                return vl_error_set_plain(err, EBADMSG,
                                          "the input is %zu bytes; a domain is at most %u", len,
                                          IMPORTER_XML_MAX_BYTES);
        /* No DTD at all: the only way to declare entities (and to make libxml2 read
         * another file) is the DOCTYPE, and libvirt never writes one. */
        if (memmem(xml, len, "<!DOCTYPE", 9) || memmem(xml, len, "<!ENTITY", 8))
                return vl_error_set_plain(err, EBADMSG,
                                          "a DOCTYPE or ENTITY declaration is refused: "
                                          "libvirt's domains have none");
        int r = dl_libxml_open(err);
        if (r < 0)
                return r;
        sym_xmlSetGenericErrorFunc(NULL, xml_quiet);
        xmlParserCtxtPtr ctxt = sym_xmlNewParserCtxt();
        if (!ctxt)
                return vl_error_set(err, ENOMEM, "libxml2");
        /* NONET: no network access; no NOENT (entities stay references), no DTDLOAD,
         * no XINCLUDE, no HUGE (libxml2's limits on depth and text stay). */
        xmlDocPtr doc = sym_xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
                                              XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                      XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
        if (!doc) {
                const xmlError *e = sym_xmlCtxtGetLastError(ctxt);
                char msg[256] = "not well-formed";
                if (e && e->message) {
                        snprintf(msg, sizeof(msg), "%s", e->message);
                        size_t l = strlen(msg);
                        while (l && msg[l - 1] == '\n')
                                msg[--l] = '\0';
                }
                r = vl_error_set_plain(err, EBADMSG, "not well-formed XML, line %d: %s",
                                       e ? e->line : 0, msg);
                goto out;
        }
        xmlNode *root = sym_xmlDocGetRootElement(doc);
        if (doc->intSubset || doc->extSubset) {
                r = vl_error_set_plain(err, EBADMSG, "a DOCTYPE is refused");
                goto out;
        }
        if (!root || !streq((const char *)root->name, "domain") || root->ns) {
                r = vl_error_set_plain(err, EBADMSG,
                                       "the root element is <%s>, not a libvirt <domain>",
                                       root ? (const char *)root->name : "");
                goto out;
        }
        struct import *im = calloc(1, sizeof(*im));
        if (!im) {
                r = vl_error_set(err, ENOMEM, "import");
                goto out;
        }
        im->opts = opts;
        im->res = res;
        char domain_name[128] = "";
        xmlNode *n = child(root, "name");
        if (n)
                text(n, domain_name, sizeof(domain_name));
        for (char *p = domain_name; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == '\'')
                        *p = '?';
        map_domain(im, root, domain_name);
        if (!im->nomem)
                res->ini = render(im, domain_name);
        if (im->nomem || !res->ini)
                r = vl_error_set(err, ENOMEM, "import");
        for (int s = 0; s < SEC_COUNT; s++)
                vl_strv_free(&im->lines[s]);
        vl_strv_free(&im->covered);
        vl_strv_free(&im->iothread_ids);
        vl_strv_free(&im->iothread_pins);
        vl_strv_free(&im->boot_devs);
        vl_strv_free(&im->qemu_args);
        for (size_t i = 0; i < im->ndisks; i++)
                vl_strv_free(&im->disks[i].lines);
        free(im);
out:
        if (doc)
                sym_xmlFreeDoc(doc);
        sym_xmlFreeParserCtxt(ctxt);
        if (r < 0)
                importer_result_free(res);
        return r;
}

void importer_result_free(struct importer_result *res)
{
        free(res->ini);
        res->ini = NULL;
        vl_strv_free(&res->warnings);
}
