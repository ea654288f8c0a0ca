/* Pinning validation: a definition's vcpu_pin, emulator_pin and iothread pins against a
 * topology. Pure. Every finding names the vCPUs/CPUs involved and what to write instead;
 * the suggestion (topology_suggest.c) provides the concrete "e.g." values. */
#include "topology/topology.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/array.h"

#define LIST_CHARS 2048
#define NO_CORE    ((size_t)-1)

struct checker {
        const struct topology *topo;
        const struct vm_def *def;
        struct topology_pin_findings *out;
        size_t *vcpu_core; /* host core of each pinned vCPU, NO_CORE when the CPU is bad */
        size_t n_vcpus;    /* pinned vCPUs we look at */
        bool *core_has_vcpu;
        bool have_plan;
        bool pins_are_suggestion;      /* vcpu_pin is what --suggest / auto would write */
        struct topology_pin_plan plan; /* what --suggest would do, for the advice */
        int oom;
};

static void add(struct checker *c, enum vmdef_severity sev, unsigned line, const char *section,
                const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add(struct checker *c, enum vmdef_severity sev, unsigned line, const char *section,
                const char *key, const char *fmt, ...)
{
        struct topology_pin_findings *f = c->out;
        if (VL_ARRAY_GROW(f->items, f->cap, f->count) < 0) {
                c->oom = -ENOMEM;
                return;
        }
        struct vmdef_diag *d = &f->items[f->count++];
        *d = (struct vmdef_diag){.severity = sev, .line = line};
        snprintf(d->section, sizeof(d->section), "%s", section);
        snprintf(d->key, sizeof(d->key), "%s", key);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
        va_end(ap);
        if (sev == VMDEF_ERROR)
                f->n_errors++;
}

void topology_pin_findings_free(struct topology_pin_findings *findings)
{
        free(findings->items);
        *findings = (struct topology_pin_findings){0};
}

/* CPUs of a core or of all usable CPUs, formatted. */
static void format_core(const struct topology_core *core, char *buf)
{
        vmdef_cpulist_format(core->cpus, core->n_cpus, buf, LIST_CHARS);
}

/* Errors for CPUs in one pin list that do not exist, are offline or not allowed. */
static void check_cpus_exist(struct checker *c, const char *section, const char *key, unsigned line,
                             const struct vmdef_cpulist *l)
{
        const struct topology *t = c->topo;
        _cleanup_free_ unsigned *missing = calloc(l->count + 1, sizeof(unsigned));
        _cleanup_free_ unsigned *offline = calloc(l->count + 1, sizeof(unsigned));
        _cleanup_free_ unsigned *denied = calloc(l->count + 1, sizeof(unsigned));
        _cleanup_free_ unsigned *all = calloc(t->n_cpus + 1, sizeof(unsigned));
        if (!missing || !offline || !denied || !all) {
                c->oom = -ENOMEM;
                return;
        }
        size_t n_missing = 0, n_offline = 0, n_denied = 0, n_all = 0;
        for (size_t i = 0; i < l->count; i++) {
                const struct topology_cpu *cpu = topology_find_cpu(t, l->cpus[i]);
                if (cpu && !cpu->allowed)
                        denied[n_denied++] = l->cpus[i];
                else if (!cpu && topology_cpu_offline(t, l->cpus[i]))
                        offline[n_offline++] = l->cpus[i];
                else if (!cpu)
                        missing[n_missing++] = l->cpus[i];
        }
        char list[LIST_CHARS], have[LIST_CHARS];
        for (size_t i = 0; i < t->n_cpus; i++)
                if (t->cpus[i].allowed)
                        all[n_all++] = t->cpus[i].os_index;
        vmdef_cpulist_format(all, n_all, have, LIST_CHARS);
        if (n_missing) {
                vmdef_cpulist_format(missing, n_missing, list, LIST_CHARS);
                add(c, VMDEF_ERROR, line, section, key,
                    "CPU%s %s do%s not exist on %s; expected CPUs among %s",
                    n_missing > 1 ? "s" : "", list, n_missing > 1 ? "" : "es", t->source, have);
        }
        if (n_offline) {
                vmdef_cpulist_format(offline, n_offline, list, LIST_CHARS);
                add(c, VMDEF_ERROR, line, section, key,
                    "CPU%s %s %s offline on %s; bring %s online (echo 1 > /sys/devices/system/cpu/cpu%u/online) or pin to online CPUs (%s)",
                    n_offline > 1 ? "s" : "", list, n_offline > 1 ? "are" : "is", t->source,
                    n_offline > 1 ? "them" : "it", offline[0], have);
        }
        if (n_denied) {
                vmdef_cpulist_format(denied, n_denied, list, LIST_CHARS);
                add(c, VMDEF_ERROR, line, section, key,
                    "CPU%s %s %s outside vmlaunch's cgroup cpuset, so pinning there fails; widen the cpuset (AllowedCPUs=) or pin to allowed CPUs (%s)",
                    n_denied > 1 ? "s" : "", list, n_denied > 1 ? "are" : "is", have);
        }
}

/* The vCPUs (indexes) whose host core satisfies `match`, formatted as a list. */
static size_t vcpus_where(const struct checker *c,
                          bool (*match)(const struct checker *, size_t, size_t), size_t arg,
                          char *buf)
{
        _cleanup_free_ unsigned *v = calloc(c->n_vcpus + 1, sizeof(unsigned));
        size_t n = 0;
        if (!v) {
                buf[0] = '\0';
                return 0;
        }
        for (size_t i = 0; i < c->n_vcpus; i++)
                if (c->vcpu_core[i] != NO_CORE && match(c, c->vcpu_core[i], arg))
                        v[n++] = i;
        vmdef_cpulist_format(v, n, buf, LIST_CHARS);
        return n;
}

static bool in_l3(const struct checker *c, size_t core, size_t l3)
{
        return c->topo->cores[core].l3 == l3;
}
static bool is_core(const struct checker *c, size_t core, size_t which)
{
        (void)c;
        return core == which;
}
static bool on_efficiency(const struct checker *c, size_t core, size_t unused)
{
        (void)unused;
        return c->topo->cores[core].efficiency;
}

static const char *suggested_vcpus(struct checker *c, char *buf)
{
        if (!c->have_plan)
                return "auto";
        vmdef_cpulist_format(c->plan.vcpus.cpus, c->plan.vcpus.count, buf, LIST_CHARS);
        return buf;
}

/* Guest SMT siblings (threads = T: vCPUs kT..kT+T-1) must share one host core, and
 * vCPUs of different guest cores should not: the guest schedules by what it is told. */
static void check_siblings(struct checker *c)
{
        const struct topology *t = c->topo;
        unsigned threads = c->def->threads ? c->def->threads : 1;
        const struct vmdef_cpulist *pin = &c->def->vcpu_pin;
        char sib[LIST_CHARS];
        if (threads > 1) {
                /* One finding for the first split guest core, counting the others. */
                size_t split = 0, first_v = 0, second_v = 0;
                for (size_t first = 0; first + 1 < c->n_vcpus; first += threads) {
                        for (size_t v = first + 1; v < first + threads && v < c->n_vcpus; v++) {
                                size_t a = c->vcpu_core[first], b = c->vcpu_core[v];
                                if (a == NO_CORE || b == NO_CORE || a == b)
                                        continue;
                                if (split++ == 0) {
                                        first_v = first;
                                        second_v = v;
                                }
                                break;
                        }
                }
                if (!split)
                        return;
                size_t a = c->vcpu_core[first_v], b = c->vcpu_core[second_v];
                char more[64] = "";
                if (split > 1)
                        snprintf(more, sizeof(more), " (%zu more guest cores are split too)",
                                 split - 1);
                format_core(&t->cores[a], sib);
                add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                    "vCPUs %zu and %zu form one guest core (threads = %u) but run on CPU %u (host core %zu) and CPU %u (host core %zu)%s; pin a guest core's vCPUs to the siblings of one host core, e.g. CPUs %s of core %zu, or use vcpu_pin = auto",
                    first_v, second_v, threads, pin->cpus[first_v], a, pin->cpus[second_v], b, more,
                    sib, a);
                return;
        }
        if (t->threads_per_core < 2)
                return;
        for (size_t v = 0; v < c->n_vcpus; v++)
                for (size_t w = v + 1; w < c->n_vcpus; w++) {
                        size_t a = c->vcpu_core[v];
                        if (a == NO_CORE || a != c->vcpu_core[w] || pin->cpus[v] == pin->cpus[w])
                                continue;
                        format_core(&t->cores[a], sib);
                        add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                            "vCPUs %zu and %zu are separate guest cores (threads = 1) but share host core %zu (CPUs %s); set threads = %u so the guest schedules them as siblings, or pin one vCPU per host core",
                            v, w, a, sib, t->threads_per_core);
                        return;
                }
}

static void check_duplicates(struct checker *c)
{
        const struct vmdef_cpulist *pin = &c->def->vcpu_pin;
        for (size_t v = 0; v < c->n_vcpus; v++)
                for (size_t w = v + 1; w < c->n_vcpus; w++)
                        if (pin->cpus[v] == pin->cpus[w]) {
                                add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                                    "vCPUs %zu and %zu are both pinned to CPU %u, so they take turns on it; give each vCPU its own CPU",
                                    v, w, pin->cpus[v]);
                                return;
                        }
}

/* Fewest L3 domains that can hold n vCPUs on this host, and the largest domain. */
static size_t l3s_needed(const struct topology *t, size_t n, size_t *largest)
{
        _cleanup_free_ size_t *cap = calloc(t->n_l3s, sizeof(size_t));
        if (!cap)
                return 1;
        for (size_t i = 0; i < t->n_cores; i++)
                if (t->cores[i].usable)
                        cap[t->cores[i].l3] += t->cores[i].n_cpus;
        *largest = 0;
        for (size_t d = 0; d < t->n_l3s; d++)
                if (cap[d] > *largest)
                        *largest = cap[d];
        bool fits;
        return topology_domains_to_fit(cap, t->n_l3s, n, &fits);
}

static void check_l3_span(struct checker *c)
{
        const struct topology *t = c->topo;
        _cleanup_free_ bool *used = calloc(t->n_l3s, sizeof(bool));
        _cleanup_free_ char *where = calloc(1, LIST_CHARS * 2);
        _cleanup_free_ unsigned *cpus = calloc(t->n_cpus + 1, sizeof(unsigned));
        if (!used || !where || !cpus) {
                c->oom = -ENOMEM;
                return;
        }
        size_t n_used = 0;
        for (size_t v = 0; v < c->n_vcpus; v++)
                if (c->vcpu_core[v] != NO_CORE && !used[t->cores[c->vcpu_core[v]].l3]) {
                        used[t->cores[c->vcpu_core[v]].l3] = true;
                        n_used++;
                }
        if (n_used < 2 || c->pins_are_suggestion)
                return; /* the suggestion's own notes explain an unavoidable split */
        for (size_t d = 0; d < t->n_l3s; d++) {
                if (!used[d])
                        continue;
                char vl[LIST_CHARS], cl[LIST_CHARS];
                size_t n = 0;
                for (size_t i = 0; i < t->n_cpus; i++)
                        if (t->cores[t->cpus[i].core].l3 == d)
                                cpus[n++] = t->cpus[i].os_index;
                char span[LIST_CHARS + 16];
                vmdef_cpulist_format(cpus, n, cl, LIST_CHARS);
                if (strlen(cl) > 24) /* big L3s: the count says enough */
                        snprintf(span, sizeof(span), "%zu CPUs", n);
                else
                        snprintf(span, sizeof(span), "CPUs %s", cl);
                vcpus_where(c, in_l3, d, vl);
                size_t len = strlen(where);
                snprintf(where + len, LIST_CHARS * 2 - len, "%sL3 domain %u (%s): vCPUs %s",
                         len ? "; " : "", t->l3s[d].number, span, vl);
        }
        size_t largest = 0, needed = l3s_needed(t, c->n_vcpus, &largest);
        char sugg[LIST_CHARS];
        const char *s = suggested_vcpus(c, sugg);
        if (needed <= 1)
                add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                    "the vCPUs span %zu L3 domains (%s), so guest threads lose their cache when they move between them; %zu vCPUs fit in one L3 domain of %zu CPUs, e.g. vcpu_pin = %s",
                    n_used, where, c->n_vcpus, largest, s);
        else
                add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                    "the vCPUs span %zu L3 domains (%s), so guest threads lose their cache when they move between them; %zu vCPUs need at least %zu L3 domains of at most %zu CPUs here: keep as many as possible in one, e.g. vcpu_pin = %s, or use fewer vCPUs",
                    n_used, where, c->n_vcpus, needed, largest, s);
}

static void check_numa_span(struct checker *c)
{
        const struct topology *t = c->topo;
        _cleanup_free_ bool *used = calloc(t->n_numa_nodes, sizeof(bool));
        if (!used) {
                c->oom = -ENOMEM;
                return;
        }
        size_t n_used = 0;
        for (size_t v = 0; v < c->n_vcpus; v++)
                if (c->vcpu_core[v] != NO_CORE && !used[t->cores[c->vcpu_core[v]].numa]) {
                        used[t->cores[c->vcpu_core[v]].numa] = true;
                        n_used++;
                }
        if (n_used > 1)
                add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                    "the vCPUs span %zu NUMA nodes, so half of them reach guest memory through the other node; pin them within one node, or give the guest one socket per node",
                    n_used);
}

static void check_host_cores(struct checker *c)
{
        const struct topology *t = c->topo;
        size_t hk = topology_housekeeping_core(t);
        char sugg[LIST_CHARS], cores[LIST_CHARS], vl[LIST_CHARS];
        size_t free_cores = 0;
        for (size_t i = 0; i < t->n_cores; i++)
                free_cores += t->cores[i].usable && !c->core_has_vcpu[i];
        if (free_cores == 0) {
                format_core(&t->cores[hk], cores);
                add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                    "every core runs a vCPU, so the host and QEMU's own threads compete with the guest; leave at least one whole core to the host (e.g. core %zu: CPUs %s) by using fewer vCPUs",
                    hk, cores);
                return;
        }
        size_t n_on_hk = c->core_has_vcpu[hk] && !c->pins_are_suggestion
                                 ? vcpus_where(c, is_core, hk, vl)
                                 : 0;
        if (n_on_hk) {
                format_core(&t->cores[hk], cores);
                add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
                    "vCPU%s %s run%s on core %zu (CPUs %s), where the host's interrupts and housekeeping land, so they get preempted; leave that core to the host, e.g. vcpu_pin = %s",
                    n_on_hk > 1 ? "s" : "", vl, n_on_hk > 1 ? "" : "s", hk, cores,
                    suggested_vcpus(c, sugg));
        }
}

static void check_efficiency(struct checker *c)
{
        const struct topology *t = c->topo;
        char vl[LIST_CHARS], perf[LIST_CHARS];
        size_t n_eff = t->n_kinds < 2 ? 0 : vcpus_where(c, on_efficiency, 0, vl);
        if (!n_eff)
                return;
        _cleanup_free_ unsigned *cpus = calloc(t->n_cpus + 1, sizeof(unsigned));
        if (!cpus) {
                c->oom = -ENOMEM;
                return;
        }
        size_t n = 0;
        const char *perf_name = "performance";
        for (size_t i = 0; i < t->n_cpus; i++)
                if (t->kinds[t->cpus[i].kind].performance) {
                        cpus[n++] = t->cpus[i].os_index;
                        perf_name = t->kinds[t->cpus[i].kind].name;
                }
        vmdef_cpulist_format(cpus, n, perf, LIST_CHARS);
        add(c, VMDEF_WARNING, 0, "cpu", "vcpu_pin",
            "vCPU%s %s run%s on efficiency cores, which are much slower than the performance cores (%s: CPUs %s); pin vCPUs to performance cores, or use vcpu_pin = auto",
            n_eff > 1 ? "s" : "", vl, n_eff > 1 ? "" : "s", perf_name, n ? perf : "none");
}

/* CPUs left to the host, as advice for emulator/iothread pins: a whole core without
 * vCPUs, preferably not the housekeeping one. */
static void host_cpus_advice(const struct checker *c, char *buf)
{
        const struct topology *t = c->topo;
        size_t hk = topology_housekeeping_core(t), pick = NO_CORE;
        for (size_t i = 0; i < t->n_cores; i++)
                if (t->cores[i].usable && !c->core_has_vcpu[i] && (pick == NO_CORE || pick == hk))
                        pick = i;
        if (pick == NO_CORE) {
                snprintf(buf, LIST_CHARS, "CPUs without vCPUs (there are none: use fewer vCPUs)");
                return;
        }
        char list[LIST_CHARS];
        format_core(&t->cores[pick], list);
        snprintf(buf, LIST_CHARS, "CPUs %.1000s of core %zu, which runs no vCPU", list, pick);
}

static void check_overlap(struct checker *c, const char *section, const char *key, unsigned line,
                          const struct vmdef_cpulist *l, const char *what)
{
        const struct vmdef_cpulist *pin = &c->def->vcpu_pin;
        _cleanup_free_ unsigned *shared = calloc(l->count + 1, sizeof(unsigned));
        _cleanup_free_ unsigned *vcpus = calloc(c->n_vcpus + 1, sizeof(unsigned));
        if (!shared || !vcpus) {
                c->oom = -ENOMEM;
                return;
        }
        size_t n_shared = 0, n_vcpus = 0;
        for (size_t i = 0; i < l->count; i++) {
                bool hit = false;
                for (size_t v = 0; v < c->n_vcpus; v++)
                        if (pin->cpus[v] == l->cpus[i]) {
                                hit = true;
                                vcpus[n_vcpus++] = v;
                        }
                if (hit)
                        shared[n_shared++] = l->cpus[i];
        }
        if (!n_shared)
                return;
        char cl[LIST_CHARS], vl[LIST_CHARS], advice[LIST_CHARS];
        vmdef_cpulist_format(shared, n_shared, cl, LIST_CHARS);
        vmdef_cpulist_format(vcpus, n_vcpus, vl, LIST_CHARS);
        host_cpus_advice(c, advice);
        add(c, VMDEF_WARNING, line, section, key,
            "%s shares CPU%s %s with vCPU%s %s, so it preempts them when busy; pin it to %s", what,
            n_shared > 1 ? "s" : "", cl, n_vcpus > 1 ? "s" : "", vl, advice);
}

int topology_pin_check(const struct topology *topo, const struct vm_def *def,
                       struct topology_pin_findings *out)
{
        struct checker c = {.topo = topo, .def = def, .out = out};
        const struct vmdef_cpulist *pin = &def->vcpu_pin;
        unsigned n = vmdef_vcpu_count(def);

        *out = (struct topology_pin_findings){0};
        check_cpus_exist(&c, "cpu", "vcpu_pin", 0, pin);
        check_cpus_exist(&c, "cpu", "emulator_pin", 0, &def->emulator_pin);
        for (size_t i = 0; i < def->n_iothreads; i++)
                check_cpus_exist(&c, "iothreads", def->iothreads[i].id, def->iothreads[i].line,
                                 &def->iothreads[i].pin);

        /* A count mismatch is the definition's own error (vmdefs reports it); look at
         * the vCPUs that have a pin. */
        c.n_vcpus = pin->count < n ? pin->count : n;
        c.vcpu_core = calloc(c.n_vcpus + 1, sizeof(size_t));
        c.core_has_vcpu = calloc(topo->n_cores + 1, sizeof(bool));
        if (!c.vcpu_core || !c.core_has_vcpu) {
                free(c.vcpu_core);
                free(c.core_has_vcpu);
                return -ENOMEM;
        }
        for (size_t v = 0; v < c.n_vcpus; v++) {
                const struct topology_cpu *cpu = topology_find_cpu(topo, pin->cpus[v]);
                c.vcpu_core[v] = cpu ? cpu->core : NO_CORE;
                if (cpu)
                        c.core_has_vcpu[cpu->core] = true;
        }
        if (c.n_vcpus > 0) {
                struct topology_pin_request req = {.n_vcpus = c.n_vcpus,
                                                   .guest_threads = def->threads,
                                                   .n_iothreads = def->n_iothreads};
                c.have_plan = topology_pin_suggest(topo, &req, &c.plan, NULL) == 0;
                c.pins_are_suggestion =
                        c.have_plan && c.plan.vcpus.count == c.n_vcpus &&
                        !memcmp(c.plan.vcpus.cpus, pin->cpus, c.n_vcpus * sizeof(unsigned));
                check_duplicates(&c);
                check_siblings(&c);
                check_l3_span(&c);
                check_numa_span(&c);
                check_host_cores(&c);
                check_efficiency(&c);
                check_overlap(&c, "cpu", "emulator_pin", 0, &def->emulator_pin, "the emulator");
                for (size_t i = 0; i < def->n_iothreads; i++) {
                        char what[128];
                        snprintf(what, sizeof(what), "iothread %s", def->iothreads[i].id);
                        check_overlap(&c, "iothreads", def->iothreads[i].id, def->iothreads[i].line,
                                      &def->iothreads[i].pin, what);
                }
        }
        if (c.have_plan)
                topology_pin_plan_free(&c.plan);
        free(c.vcpu_core);
        free(c.core_has_vcpu);
        if (c.oom) {
                topology_pin_findings_free(out);
                return c.oom;
        }
        return 0;
}
