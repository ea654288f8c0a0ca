/* Text for people: the topology in a few lines, a pin plan as a ready-to-paste INI block. */
#include "topology/topology.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/sort.h"

#define LINE_MAX_CHARS 8192

static const char *plural(size_t n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

/* Appends to a fixed line buffer; overlong lines are cut, never overflowed. */
static void appendf(char *buf, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t len, const char *fmt, ...)
{
        size_t used = strlen(buf);
        if (used + 1 >= len)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf + used, len - used, fmt, ap);
        va_end(ap);
}

static void format_size(uint64_t bytes, char *buf, size_t len)
{
        if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
                snprintf(buf, len, "%llu MB", (unsigned long long)(bytes >> 20));
        else
                snprintf(buf, len, "%llu KB", (unsigned long long)(bytes >> 10));
}

/* "  L3 domain 1 (32 MB, NUMA node 0): CPUs 6-11, cores 3-5: 6+7 8+9 10+11" */
static int describe_l3(const struct topology *t, size_t l3, struct vl_strv *lines)
{
        _cleanup_free_ unsigned *cpus = calloc(t->n_cpus + 1, sizeof(*cpus));
        _cleanup_free_ char *line = calloc(1, LINE_MAX_CHARS);
        _cleanup_free_ char *cores = calloc(1, LINE_MAX_CHARS);
        char list[LINE_MAX_CHARS / 2], extra[128] = "";
        if (!cpus || !line || !cores)
                return -ENOMEM;
        size_t n = 0, first = (size_t)-1, last = 0;
        unsigned numa = 0, die = 0;
        for (size_t i = 0; i < t->n_cores; i++) {
                const struct topology_core *c = &t->cores[i];
                if (c->l3 != l3)
                        continue;
                if (first == (size_t)-1) {
                        first = i;
                        numa = c->numa;
                        die = c->die;
                }
                last = i;
                memcpy(cpus + n, c->cpus, c->n_cpus * sizeof(*cpus));
                n += c->n_cpus;
                appendf(cores, LINE_MAX_CHARS, " ");
                for (size_t k = 0; k < c->n_cpus; k++)
                        appendf(cores, LINE_MAX_CHARS, "%s%u", k ? "+" : "", c->cpus[k]);
                if (c->efficiency)
                        appendf(cores, LINE_MAX_CHARS, "(E)");
        }
        if (first == (size_t)-1)
                return 0;
        qsort(cpus, n, sizeof(*cpus), vl_cmp_unsigned);
        vmdef_cpulist_format(cpus, n, list, sizeof(list));
        if (t->l3s[l3].size_bytes)
                format_size(t->l3s[l3].size_bytes, extra, sizeof(extra));
        if (t->n_numa_nodes > 1)
                appendf(extra, sizeof(extra), "%sNUMA node %u", *extra ? ", " : "",
                        t->numa_nodes[numa].number);
        if (t->n_dies > t->n_packages)
                appendf(extra, sizeof(extra), "%sdie %u", *extra ? ", " : "", t->dies[die].number);
        snprintf(line, LINE_MAX_CHARS, "  L3 domain %u%s%s%s: CPUs %s, ", t->l3s[l3].number,
                 *extra ? " (" : "", extra, *extra ? ")" : "", list);
        if (first == last)
                appendf(line, LINE_MAX_CHARS, "core %zu:%s", first, cores);
        else
                appendf(line, LINE_MAX_CHARS, "cores %zu-%zu:%s", first, last, cores);
        return vl_strv_push(lines, line);
}

static int describe_kinds(const struct topology *t, struct vl_strv *lines)
{
        _cleanup_free_ char *line = calloc(1, LINE_MAX_CHARS);
        _cleanup_free_ unsigned *cpus = calloc(t->n_cpus + 1, sizeof(*cpus));
        char list[LINE_MAX_CHARS / 2];
        if (!line || !cpus)
                return -ENOMEM;
        snprintf(line, LINE_MAX_CHARS, "hybrid CPU ((E) marks efficiency cores), core kinds:");
        for (size_t k = t->n_kinds; k-- > 0;) {
                size_t n = 0;
                for (size_t i = 0; i < t->n_cpus; i++)
                        if (t->cpus[i].kind == k)
                                cpus[n++] = t->cpus[i].os_index;
                vmdef_cpulist_format(cpus, n, list, sizeof(list));
                appendf(line, LINE_MAX_CHARS, "%s %s (%s): CPUs %s", k + 1 < t->n_kinds ? ";" : "",
                        t->kinds[k].name, t->kinds[k].performance ? "performance" : "efficiency",
                        n ? list : "none");
        }
        return vl_strv_push(lines, line);
}

int topology_describe(const struct topology *t, struct vl_strv *lines)
{
        int r;
        char list[LINE_MAX_CHARS / 2];
        bool smt = t->threads_per_core > 1;
        r = vl_strv_pushf(lines, "%s: %zu %s, %zu NUMA %s, %zu L3 %s, %zu cores, %zu CPUs%s",
                          t->source, t->n_packages, plural(t->n_packages, "package", "packages"),
                          t->n_numa_nodes, plural(t->n_numa_nodes, "node", "nodes"), t->n_l3s,
                          plural(t->n_l3s, "domain", "domains"), t->n_cores, t->n_cpus,
                          smt ? " (siblings of one core are joined with +)" : "");
        if (r < 0)
                return r;
        _cleanup_free_ bool *shown = calloc(t->n_l3s + 1, sizeof(bool));
        if (!shown)
                return -ENOMEM;
        for (size_t p = 0; p < t->n_packages; p++) {
                r = vl_strv_pushf(lines, "package %u:", t->packages[p].number);
                if (r < 0)
                        return r;
                /* L3 domains in hwloc order, each once, under the package holding it. */
                for (size_t i = 0; i < t->n_cores; i++) {
                        unsigned l3 = t->cores[i].l3;
                        if (t->cores[i].package != p || shown[l3])
                                continue;
                        shown[l3] = true;
                        if ((r = describe_l3(t, l3, lines)) < 0)
                                return r;
                }
        }
        if (t->n_kinds > 1 && (r = describe_kinds(t, lines)) < 0)
                return r;
        if (t->n_offline) {
                vmdef_cpulist_format(t->offline, t->n_offline, list, sizeof(list));
                if ((r = vl_strv_pushf(lines, "offline CPUs: %s", list)) < 0)
                        return r;
        }
        _cleanup_free_ unsigned *denied = calloc(t->n_cpus + 1, sizeof(*denied));
        if (!denied)
                return -ENOMEM;
        size_t n_denied = 0;
        for (size_t i = 0; i < t->n_cpus; i++)
                if (!t->cpus[i].allowed)
                        denied[n_denied++] = t->cpus[i].os_index;
        if (n_denied) {
                vmdef_cpulist_format(denied, n_denied, list, sizeof(list));
                r = vl_strv_pushf(lines, "not allowed to vmlaunch (cgroup cpuset): CPUs %s", list);
                if (r < 0)
                        return r;
        }
        size_t hk = topology_housekeeping_core(t);
        vmdef_cpulist_format(t->cores[hk].cpus, t->cores[hk].n_cpus, list, sizeof(list));
        return vl_strv_pushf(lines,
                             "housekeeping core (left to the host by --suggest): core %zu, CPUs %s",
                             hk, list);
}

static int push_comment(struct vl_strv *lines, const char *why)
{
        return why ? vl_strv_pushf(lines, "# %s", why) : 0;
}

int topology_pin_plan_ini(const struct topology_pin_plan *p, struct vl_strv *lines)
{
        char list[LINE_MAX_CHARS];
        int r;
        if ((r = vl_strv_push(lines, "[cpu]")) < 0 ||
            (r = push_comment(lines, p->why_topology)) < 0 ||
            (r = vl_strv_pushf(lines, "sockets = %u", p->sockets)) < 0 ||
            (r = vl_strv_pushf(lines, "dies = %u", p->dies)) < 0 ||
            (r = vl_strv_pushf(lines, "cores = %u", p->cores)) < 0 ||
            (r = vl_strv_pushf(lines, "threads = %u", p->threads)) < 0)
                return r;
        vmdef_cpulist_format(p->vcpus.cpus, p->vcpus.count, list, sizeof(list));
        if ((r = push_comment(lines, p->why_vcpus)) < 0 ||
            (r = vl_strv_pushf(lines, "vcpu_pin = %s", list)) < 0)
                return r;
        vmdef_cpulist_format(p->emulator.cpus, p->emulator.count, list, sizeof(list));
        if ((r = push_comment(lines, p->why_emulator)) < 0 ||
            (r = vl_strv_pushf(lines, "emulator_pin = %s", list)) < 0)
                return r;
        for (size_t i = 0; i < p->notes.count; i++)
                if ((r = vl_strv_pushf(lines, "# note: %s", p->notes.items[i])) < 0)
                        return r;
        if (p->n_iothreads == 0)
                return 0;
        if ((r = vl_strv_push(lines, "")) < 0 || (r = vl_strv_push(lines, "[iothreads]")) < 0 ||
            (r = push_comment(lines, p->why_iothreads)) < 0)
                return r;
        for (size_t i = 0; i < p->n_iothreads; i++) {
                vmdef_cpulist_format(p->iothreads[i].cpus, p->iothreads[i].count, list,
                                     sizeof(list));
                if ((r = vl_strv_pushf(lines, "io%zu = %s", i + 1, list)) < 0)
                        return r;
        }
        return 0;
}
