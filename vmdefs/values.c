/* Value parsers for definition keys: sizes, CPU lists, PCI addresses, booleans.
 * Each writes "what is wrong; what is expected" to `why` on failure. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmdefs/vmdef.h"
#include "util/array.h"
#include "util/macro.h"

#define SIZE_EXPECTED    "expected a size like 12G, 12288M, 12GiB or a number of bytes"
#define CPULIST_EXPECTED "expected host CPU numbers and ranges like 0-3,8,10-11"
#define PCI_EXPECTED     "expected a PCI address like 06:00.0 or 0000:06:00.0"

static int fail(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_len, const char *fmt, ...)
{
        if (why && why_len) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(why, why_len, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* Reads a decimal number without sign; stops at the first non-digit. */
static int read_decimal(const char **p, uint64_t *out)
{
        const char *s = *p;
        uint64_t v = 0;
        if (!isdigit((unsigned char)*s))
                return -EINVAL;
        for (; isdigit((unsigned char)*s); s++) {
                unsigned d = (unsigned)(*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *p = s;
        *out = v;
        return 0;
}

int vmdef_parse_size(const char *s, uint64_t *bytes, char *why, size_t why_len)
{
        static const struct {
                const char *suffix;
                unsigned shift;
        } units[] = {
                {"", 0},     {"B", 0},  {"K", 10},   {"KiB", 10}, {"M", 20},
                {"MiB", 20}, {"G", 30}, {"GiB", 30}, {"T", 40},   {"TiB", 40},
        };
        const char *p = s;
        uint64_t n;

        if (!*s)
                return fail(why, why_len, "empty; " SIZE_EXPECTED);
        int r = read_decimal(&p, &n);
        if (r == -ERANGE)
                return fail(why, why_len, "too large; " SIZE_EXPECTED);
        if (r < 0)
                return fail(why, why_len, "not a number; " SIZE_EXPECTED);
        if (*p == '.' || *p == ',')
                return fail(
                        why, why_len,
                        "fractions are not supported; write a whole number in a smaller unit, e.g. 1536M instead of 1.5G");
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (strcasecmp(p, units[i].suffix))
                        continue;
                if (units[i].shift && n > (UINT64_MAX >> units[i].shift))
                        return fail(why, why_len, "too large; " SIZE_EXPECTED);
                *bytes = n << units[i].shift;
                return 0;
        }
        if (!strcasecmp(p, "KB") || !strcasecmp(p, "MB") || !strcasecmp(p, "GB") ||
            !strcasecmp(p, "TB"))
                return fail(why, why_len,
                            "unit \"%s\" is ambiguous; write %c or %ciB (powers of 1024)", p,
                            toupper((unsigned char)p[0]), toupper((unsigned char)p[0]));
        return fail(why, why_len, "unknown unit \"%s\"; " SIZE_EXPECTED, p);
}

static int read_cpu(const char **p, unsigned *cpu, char *why, size_t why_len)
{
        uint64_t v;
        int r = read_decimal(p, &v);
        if (r < 0 || v >= CPU_SETSIZE) {
                if (r == 0 || r == -ERANGE)
                        return fail(why, why_len,
                                    "CPU number too large; CPUs 0 to %d are supported",
                                    CPU_SETSIZE - 1);
                return fail(why, why_len, "\"%.20s\" is not a CPU number; " CPULIST_EXPECTED,
                            **p ? *p : "(nothing)");
        }
        *cpu = (unsigned)v;
        return 0;
}

int vmdef_cpulist_append(struct vmdef_cpulist *l, unsigned cpu)
{
        if (VL_ARRAY_GROW(l->cpus, l->cap, l->count) < 0)
                return -ENOMEM;
        l->cpus[l->count++] = cpu;
        return 0;
}

static int cpulist_add(struct vmdef_cpulist *l, unsigned cpu, char *why, size_t why_len)
{
        for (size_t i = 0; i < l->count; i++)
                if (l->cpus[i] == cpu)
                        return fail(why, why_len, "CPU %u is listed twice; expected each CPU once",
                                    cpu);
        return vmdef_cpulist_append(l, cpu);
}

static const char *skip_blanks(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

int vmdef_parse_cpulist(const char *s, struct vmdef_cpulist *out, char *why, size_t why_len)
{
        struct vmdef_cpulist l = {0};
        const char *p = skip_blanks(s);
        int r;

        if (!*p)
                return fail(why, why_len, "empty; " CPULIST_EXPECTED);
        for (;;) {
                unsigned first, last;
                if ((r = read_cpu(&p, &first, why, why_len)) < 0)
                        goto err;
                last = first;
                if (*p == '-') {
                        p++;
                        if ((r = read_cpu(&p, &last, why, why_len)) < 0)
                                goto err;
                        if (last < first) {
                                r = fail(
                                        why, why_len,
                                        "range %u-%u goes backwards; write ranges from low to high, e.g. %u-%u",
                                        first, last, last, first);
                                goto err;
                        }
                }
                for (unsigned cpu = first; cpu <= last; cpu++)
                        if ((r = cpulist_add(&l, cpu, why, why_len)) < 0)
                                goto err;
                p = skip_blanks(p);
                if (!*p)
                        break;
                if (*p != ',') {
                        r = fail(why, why_len, "unexpected \"%.20s\"; " CPULIST_EXPECTED, p);
                        goto err;
                }
                p = skip_blanks(p + 1);
                if (!*p || *p == ',') {
                        r = fail(why, why_len, "empty list element; " CPULIST_EXPECTED);
                        goto err;
                }
        }
        *out = l;
        return 0;
err:
        free(l.cpus);
        return r;
}

void vmdef_cpulist_free(struct vmdef_cpulist *l)
{
        free(l->cpus);
        *l = (struct vmdef_cpulist){0};
}

/* Reads 1..max_digits hex digits. */
static int read_hex(const char **p, unsigned max_digits, unsigned *out)
{
        unsigned v = 0, n = 0;
        const char *s = *p;
        while (isxdigit((unsigned char)*s)) {
                if (++n > max_digits)
                        return -EINVAL;
                char c = (char)tolower((unsigned char)*s++);
                v = v * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
        }
        if (!n)
                return -EINVAL;
        *p = s;
        *out = v;
        return 0;
}

int vmdef_parse_pci_addr(const char *s, struct vmdef_pci_addr *out, char *why, size_t why_len)
{
        struct vmdef_pci_addr a = {0};
        unsigned fields[3];
        const char *p = s;
        size_t colons = 0;

        for (const char *c = s; *c; c++)
                colons += *c == ':';
        if (!*s)
                return fail(why, why_len, "empty; " PCI_EXPECTED);
        if (colons == 2) {
                if (read_hex(&p, 4, &a.domain) < 0 || *p++ != ':')
                        goto bad;
        } else if (colons != 1) {
                goto bad;
        }
        if (read_hex(&p, 2, &fields[0]) < 0 || *p++ != ':' || read_hex(&p, 2, &fields[1]) < 0 ||
            *p++ != '.' || read_hex(&p, 1, &fields[2]) < 0 || *p)
                goto bad;
        if (fields[1] > 0x1f)
                return fail(why, why_len, "slot %02x is out of range; slots go from 00 to 1f",
                            fields[1]);
        if (fields[2] > 7)
                return fail(why, why_len, "function %x is out of range; functions go from 0 to 7",
                            fields[2]);
        a.bus = fields[0];
        a.slot = fields[1];
        a.function = fields[2];
        *out = a;
        return 0;
bad:
        return fail(why, why_len, "not a PCI address; " PCI_EXPECTED);
}

void vmdef_pci_addr_format(const struct vmdef_pci_addr *a, char buf[static 16])
{
        snprintf(buf, 16, "%04x:%02x:%02x.%x", a->domain & 0xffff, a->bus & 0xff, a->slot & 0x1f,
                 a->function & 7);
}

int vmdef_parse_bool(const char *s, bool *out, char *why, size_t why_len)
{
        static const char *const yes[] = {"yes", "on", "true", "1"};
        static const char *const no[] = {"no", "off", "false", "0"};
        for (size_t i = 0; i < 4; i++) {
                if (!strcasecmp(s, yes[i])) {
                        *out = true;
                        return 0;
                }
                if (!strcasecmp(s, no[i])) {
                        *out = false;
                        return 0;
                }
        }
        return fail(why, why_len, "not a boolean; expected yes/no, on/off, true/false or 1/0");
}

void vmdef_cpulist_format(const unsigned *cpus, size_t n, char *buf, size_t len)
{
        size_t used = 0;
        if (len == 0)
                return;
        buf[0] = '\0';
        for (size_t i = 0; i < n;) {
                size_t j = i;
                while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
                        j++;
                int w;
                if (j == i + 1)
                        j = i; /* a pair reads better as "6,7" than "6-7" */
                if (j == i)
                        w = snprintf(buf + used, len - used, "%s%u", i ? "," : "", cpus[i]);
                else
                        w = snprintf(buf + used, len - used, "%s%u-%u", i ? "," : "", cpus[i],
                                     cpus[j]);
                if (w < 0 || (size_t)w >= len - used)
                        return; /* truncated; callers size buffers for the whole machine */
                used += w;
                i = j + 1;
        }
}

bool vmdef_cache_is_direct(enum vmdef_disk_cache cache)
{
        return cache == VMDEF_CACHE_NONE || cache == VMDEF_CACHE_DIRECTSYNC;
}

bool vmdef_disk_aio_fits_cache(enum vmdef_disk_aio aio, enum vmdef_disk_cache cache)
{
        return aio != VMDEF_AIO_NATIVE || vmdef_cache_is_direct(cache);
}
