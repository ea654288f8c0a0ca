/* Pinning suggestion: which host CPUs the vCPUs, the emulator and the iothreads get.
 *
 * The reasoning a user otherwise does by hand with lstopo:
 * 1. vCPUs get whole cores. A guest core of T threads (vCPUs kT..kT+T-1) lands on the
 *    siblings of one host core, so the guest scheduler's idea of "siblings share a core"
 *    is true, and no host thread shares a core with a vCPU.
 * 2. The cores come from as few L3 domains as possible (on Ryzen/EPYC one CCX/CCD, on
 *    Intel usually the whole package): a cache line moving between L3 domains costs about
 *    as much as going to memory. When one L3 domain is too small, one NUMA node, then one
 *    package, and inside that the fullest L3 domains first, so the split is as lopsided
 *    as possible (3+1 cores rather than 2+2).
 * 3. The housekeeping core (first core of the first package: boot CPU, most unpinned
 *    IRQs, the host's own daemons) is left to the host unless nothing else fits, and
 *    L3 domains without it are preferred, so host activity does not evict guest cache.
 * 4. On hybrid CPUs, efficiency cores are used only once every performance core is.
 * 5. The emulator and iothreads go on CPUs left to the host, preferably a core sharing an
 *    L3 domain with the vCPUs (their data is hot there) and not the housekeeping core.
 * Everything here is pure: a topology in, a plan out.
 */
#include "topology/topology.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/macro.h"

#define CPULIST_MAX 4096

enum domain_level { LEVEL_L3, LEVEL_NUMA, LEVEL_PACKAGE };

struct selection {
        const struct topology *topo;
        unsigned guest_threads; /* vCPUs per guest core: they must share a host core */
        size_t housekeeping;    /* index of the housekeeping core */
        bool *chosen;           /* per core */
};

static char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *strdup_printf(const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}

/* How many vCPUs a core takes: only whole guest cores, unless the host core is smaller
 * than a guest core (then a guest core has to be split, and the check says so). */
static unsigned core_capacity(const struct topology_core *c, unsigned guest_threads)
{
        if (c->n_cpus < guest_threads)
                return c->n_cpus;
        return c->n_cpus / guest_threads * guest_threads;
}

static unsigned domain_of(const struct topology_core *c, enum domain_level level)
{
        return level == LEVEL_L3 ? c->l3 : level == LEVEL_NUMA ? c->numa : c->package;
}

static size_t domain_count(const struct topology *t, enum domain_level level)
{
        return level == LEVEL_L3 ? t->n_l3s : level == LEVEL_NUMA ? t->n_numa_nodes : t->n_packages;
}

/* Free capacity per domain of `level` over the candidate cores. */
static void domain_capacity(const struct selection *s, const bool *cand, enum domain_level level,
                            unsigned *cap)
{
        memset(cap, 0, domain_count(s->topo, level) * sizeof(*cap));
        for (size_t i = 0; i < s->topo->n_cores; i++)
                if (cand[i])
                        cap[domain_of(&s->topo->cores[i], level)] +=
                                core_capacity(&s->topo->cores[i], s->guest_threads);
}

/* Takes cores from `cand` (restricted to domain `within` of `level`, or everything when
 * within == -1) until `need` vCPUs fit: the fullest L3 domains first, so as few L3
 * domains as possible are used and the split is lopsided. Ties go to domains without
 * the housekeeping core. Inside the housekeeping core's L3 domain, cores are taken from
 * the far end so the cores left to the host stay together next to it. */
static unsigned fill(struct selection *s, const bool *cand, enum domain_level level, long within,
                     unsigned need)
{
        const struct topology *t = s->topo;
        unsigned hk_l3 = t->cores[s->housekeeping].l3;
        _cleanup_free_ unsigned *cap = calloc(t->n_l3s, sizeof(*cap));
        _cleanup_free_ bool *in = calloc(t->n_cores, sizeof(*in));
        if (!cap || !in)
                return need;
        for (size_t i = 0; i < t->n_cores; i++)
                in[i] = cand[i] && (within < 0 || domain_of(&t->cores[i], level) == within);
        domain_capacity(s, in, LEVEL_L3, cap);

        while (need > 0) {
                long best = -1;
                for (size_t d = 0; d < t->n_l3s; d++) {
                        if (!cap[d])
                                continue;
                        if (best < 0 || cap[d] > cap[best] ||
                            (cap[d] == cap[best] && best == hk_l3))
                                best = d;
                }
                if (best < 0)
                        break;
                bool from_end = best == hk_l3;
                for (size_t k = 0; k < t->n_cores && need > 0; k++) {
                        size_t i = from_end ? t->n_cores - 1 - k : k;
                        if (!in[i] || t->cores[i].l3 != best)
                                continue;
                        unsigned c = core_capacity(&t->cores[i], s->guest_threads);
                        s->chosen[i] = true;
                        need = need > c ? need - c : 0;
                }
                cap[best] = 0;
        }
        return need;
}

/* Fewest L3 domains needed to hold `need` vCPUs from candidates inside one domain. */
static unsigned l3_domains_needed(const struct selection *s, const bool *cand,
                                  enum domain_level level, unsigned within, unsigned need)
{
        const struct topology *t = s->topo;
        _cleanup_free_ size_t *cap = calloc(t->n_l3s, sizeof(*cap));
        if (!cap)
                return (unsigned)-1;
        for (size_t i = 0; i < t->n_cores; i++)
                if (cand[i] && domain_of(&t->cores[i], level) == within)
                        cap[t->cores[i].l3] += core_capacity(&t->cores[i], s->guest_threads);
        bool fits;
        size_t used = topology_domains_to_fit(cap, t->n_l3s, need, &fits);
        return fits ? (unsigned)used : (unsigned)-1;
}

/* Chooses cores among `cand` for `need` vCPUs: the smallest single domain that holds
 * them, trying L3, then NUMA node, then package; otherwise the whole machine. */
static unsigned select_cores(struct selection *s, const bool *cand, unsigned need)
{
        const struct topology *t = s->topo;
        const struct topology_core *hk = &t->cores[s->housekeeping];
        /* Smallest domains first. NUMA nodes and packages nest either way round (two
         * nodes per package on Opteron, one node over two packages in some BIOS modes),
         * and a level with one domain is the whole machine: the fallback below. */
        enum domain_level levels[] = {LEVEL_L3, LEVEL_NUMA, LEVEL_PACKAGE};
        if (domain_count(t, LEVEL_PACKAGE) > domain_count(t, LEVEL_NUMA)) {
                levels[1] = LEVEL_PACKAGE;
                levels[2] = LEVEL_NUMA;
        }

        for (size_t l = 0; l < ELEMENTSOF(levels); l++) {
                size_t n = domain_count(t, levels[l]);
                if (n <= 1)
                        continue;
                _cleanup_free_ unsigned *cap = calloc(n, sizeof(*cap));
                if (!cap)
                        return need;
                domain_capacity(s, cand, levels[l], cap);
                long best = -1;
                unsigned best_l3s = 0;
                for (size_t d = 0; d < n; d++) {
                        if (cap[d] < need)
                                continue;
                        /* Rank: fewest L3 domains, then not the housekeeping core's
                         * domain, then the tightest fit (leaves big domains whole). */
                        unsigned l3s = levels[l] == LEVEL_L3
                                               ? 1
                                               : l3_domains_needed(s, cand, levels[l], d, need);
                        bool hk_here = domain_of(hk, levels[l]) == d;
                        bool better = best < 0 || l3s < best_l3s;
                        if (!better && l3s == best_l3s) {
                                bool best_hk = domain_of(hk, levels[l]) == best;
                                better = (best_hk && !hk_here) ||
                                         (best_hk == hk_here && cap[d] < cap[best]);
                        }
                        if (better) {
                                best = d;
                                best_l3s = l3s;
                        }
                }
                if (best >= 0)
                        return fill(s, cand, levels[l], best, need);
        }
        return fill(s, cand, LEVEL_L3, -1, need);
}

static unsigned capacity_of(const struct selection *s, const bool *cand)
{
        unsigned total = 0;
        for (size_t i = 0; i < s->topo->n_cores; i++)
                if (cand[i])
                        total += core_capacity(&s->topo->cores[i], s->guest_threads);
        return total;
}

static void format_list(const struct vmdef_cpulist *l, char *buf, size_t len)
{
        vmdef_cpulist_format(l->cpus, l->count, buf, len);
}

/* "L3 1: cores 3-5 (CPUs 6-11), L3 0: core 2 (CPUs 4-5)" for the chosen cores, the
 * fullest domain first. */
static char *describe_chosen(const struct topology *t, const bool *chosen,
                             const struct vmdef_cpulist *vcpus, size_t *n_l3_out)
{
        _cleanup_free_ unsigned *count = calloc(t->n_l3s, sizeof(*count));
        _cleanup_free_ bool *done = calloc(t->n_l3s, sizeof(*done));
        _cleanup_free_ unsigned *cpus = calloc(vcpus->count + 1, sizeof(*cpus));
        char *out = strdup("");
        if (!count || !done || !cpus || !out) {
                free(out);
                return NULL;
        }
        for (size_t i = 0; i < t->n_cores; i++)
                count[t->cores[i].l3] += chosen[i];
        *n_l3_out = 0;
        for (;;) {
                long best = -1;
                for (size_t d = 0; d < t->n_l3s; d++)
                        if (!done[d] && count[d] && (best < 0 || count[d] > count[best]))
                                best = d;
                if (best < 0)
                        break;
                done[best] = true;
                size_t n = 0, first = (size_t)-1, last = 0;
                for (size_t v = 0; v < vcpus->count; v++) {
                        const struct topology_cpu *c = topology_find_cpu(t, vcpus->cpus[v]);
                        if (c && t->cores[c->core].l3 == best)
                                cpus[n++] = vcpus->cpus[v];
                }
                for (size_t i = 0; i < t->n_cores; i++)
                        if (chosen[i] && t->cores[i].l3 == best) {
                                if (first == (size_t)-1)
                                        first = i;
                                last = i;
                        }
                char list[CPULIST_MAX], cores[64];
                vmdef_cpulist_format(cpus, n, list, sizeof(list));
                if (first == last)
                        snprintf(cores, sizeof(cores), "core %zu", first);
                else
                        snprintf(cores, sizeof(cores), "cores %zu-%zu", first, last);
                char *next = strdup_printf("%s%sL3 domain %u: %s = CPUs %s", out, *out ? "; " : "",
                                           t->l3s[best].number, cores, list);
                free(out);
                if (!(out = next))
                        return NULL;
                (*n_l3_out)++;
        }
        return out;
}

/* Orders the CPUs left to the host for the emulator and iothreads. */
static int choose_service_cpus(const struct selection *s, const struct vmdef_cpulist *vcpus,
                               unsigned wanted, struct vmdef_cpulist *out, char **why)
{
        const struct topology *t = s->topo;
        _cleanup_free_ bool *l3_has_vcpu = calloc(t->n_l3s, sizeof(bool));
        _cleanup_free_ bool *numa_has_vcpu = calloc(t->n_numa_nodes, sizeof(bool));
        _cleanup_free_ bool *taken = calloc(t->n_cores, sizeof(bool));
        if (!l3_has_vcpu || !numa_has_vcpu || !taken)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_cores; i++)
                if (s->chosen[i]) {
                        l3_has_vcpu[t->cores[i].l3] = true;
                        numa_has_vcpu[t->cores[i].numa] = true;
                }

        bool same_l3 = false, same_numa = false, used_hk = false;
        size_t first_core = (size_t)-1;
        while (out->count < wanted) {
                /* Rank the cores left to the host: same L3 as the vCPUs first, then
                 * same NUMA node (QEMU's main thread touches guest memory: keep it on the
                 * vCPUs' node), the housekeeping core only when nothing else is left. */
                long best = -1;
                int best_rank = 0;
                for (size_t i = 0; i < t->n_cores; i++) {
                        if (s->chosen[i] || taken[i] || !t->cores[i].usable)
                                continue;
                        const struct topology_core *c = &t->cores[i];
                        int rank = (l3_has_vcpu[c->l3]       ? 0
                                    : numa_has_vcpu[c->numa] ? 1
                                                             : 2) +
                                   (i == s->housekeeping ? 4 : 0);
                        if (best < 0 || rank < best_rank) {
                                best = i;
                                best_rank = rank;
                        }
                }
                /* A second core only when it is not the housekeeping core. */
                if (best < 0 || (out->count > 0 && (size_t)best == s->housekeeping))
                        break;
                taken[best] = true;
                if (first_core == (size_t)-1) {
                        first_core = best;
                        same_l3 = l3_has_vcpu[t->cores[best].l3];
                        same_numa = numa_has_vcpu[t->cores[best].numa];
                }
                used_hk = used_hk || (size_t)best == s->housekeeping;
                for (size_t k = 0; k < t->cores[best].n_cpus; k++)
                        if (vmdef_cpulist_append(out, t->cores[best].cpus[k]) < 0)
                                return -ENOMEM;
        }
        /* *why is completed by split_service_cpus: "emulator on CPU 2" + *why. */
        char list[CPULIST_MAX];
        if (out->count > 0) {
                format_list(out, list, sizeof(list));
                const struct topology_core *first = &t->cores[first_core];
                bool several = out->count > first->n_cpus;
                *why = strdup_printf(
                        " of core%s %zu%s (CPUs %s), left to the host%s%s, so QEMU's own threads never take time from a vCPU",
                        several ? "s" : "", first_core, several ? ",..." : "", list,
                        same_l3 ? " in an L3 domain the vCPUs use (their data stays in that cache)"
                        : same_numa && t->n_numa_nodes > 1
                                ? " on the vCPUs' NUMA node (next to guest memory)"
                                : "",
                        used_hk ? ", shared with the host's housekeeping" : "");
                return *why ? 0 : -ENOMEM;
        }
        /* No core is left: use spare siblings of vCPU cores, else share with vCPUs. */
        for (size_t i = 0; i < t->n_cores; i++) {
                if (!s->chosen[i])
                        continue;
                for (size_t k = 0; k < t->cores[i].n_cpus; k++) {
                        bool used = false;
                        for (size_t v = 0; v < vcpus->count; v++)
                                used = used || vcpus->cpus[v] == t->cores[i].cpus[k];
                        if (!used && vmdef_cpulist_append(out, t->cores[i].cpus[k]) < 0)
                                return -ENOMEM;
                }
        }
        if (out->count > 0) {
                *why = strdup(
                        ": no core is left to the host, so QEMU gets the spare threads of vCPU cores");
                return *why ? 0 : -ENOMEM;
        }
        const struct topology_core *hk = &t->cores[s->housekeeping];
        for (size_t k = 0; k < hk->n_cpus; k++)
                if (vmdef_cpulist_append(out, hk->cpus[k]) < 0)
                        return -ENOMEM;
        *why = strdup_printf(
                ": every CPU runs a vCPU, so QEMU shares core %zu with vCPUs; use fewer vCPUs to give it a CPU of its own",
                s->housekeeping);
        return *why ? 0 : -ENOMEM;
}

static int split_service_cpus(const struct vmdef_cpulist *service, unsigned n_io,
                              struct topology_pin_plan *p)
{
        bool shared_with_vcpus = false;
        for (size_t k = 0; k < service->count; k++)
                for (size_t v = 0; v < p->vcpus.count; v++)
                        shared_with_vcpus =
                                shared_with_vcpus || service->cpus[k] == p->vcpus.cpus[v];
        /* With room to spare, each iothread gets a CPU of its own (the last ones) and the
         * emulator the rest, so disk I/O does not queue behind QEMU's main loop. */
        bool room = service->count > n_io;
        size_t n_emulator = room ? service->count - n_io : service->count;
        for (size_t k = 0; k < n_emulator; k++)
                if (vmdef_cpulist_append(&p->emulator, service->cpus[k]) < 0)
                        return -ENOMEM;
        char list[CPULIST_MAX];
        format_list(&p->emulator, list, sizeof(list));
        char *why = strdup_printf("emulator on CPU%s %s%s", n_emulator > 1 ? "s" : "", list,
                                  p->why_emulator);
        if (!why)
                return -ENOMEM;
        free(p->why_emulator);
        p->why_emulator = why;
        if (n_io == 0)
                return 0;
        p->iothreads = calloc(n_io, sizeof(*p->iothreads));
        if (!p->iothreads)
                return -ENOMEM;
        p->n_iothreads = n_io;
        for (unsigned i = 0; i < n_io; i++) {
                unsigned cpu =
                        room ? service->cpus[n_emulator + i] : service->cpus[i % service->count];
                if (vmdef_cpulist_append(&p->iothreads[i], cpu) < 0)
                        return -ENOMEM;
        }
        vmdef_cpulist_format(p->iothreads[0].cpus, 1, list, sizeof(list));
        if (shared_with_vcpus)
                p->why_iothreads = strdup_printf(
                        "every CPU runs a vCPU, so the iothreads share CPUs with vCPUs (io1: CPU %s); use fewer vCPUs to give disk I/O a CPU of its own",
                        list);
        else if (room)
                p->why_iothreads = strdup_printf(
                        "each iothread gets a host CPU apart from the emulator's (io1: CPU %s), so disk I/O does not wait behind QEMU's main loop",
                        list);
        else
                p->why_iothreads = strdup_printf(
                        "the host has no CPU to spare, so the iothreads share the emulator's CPUs (io1: CPU %s)",
                        list);
        return p->why_iothreads ? 0 : -ENOMEM;
}

/* Guest sockets/cores/threads mirroring the chosen host cores. */
static int choose_guest_topology(const struct selection *s, const struct topology_pin_request *req,
                                 unsigned host_threads, struct topology_pin_plan *p)
{
        const struct topology *t = s->topo;
        unsigned n = req->n_vcpus;
        _cleanup_free_ unsigned *per_package = calloc(t->n_packages, sizeof(unsigned));
        if (!per_package)
                return -ENOMEM;
        bool uneven_cores = false;
        unsigned packages = 0;
        for (size_t v = 0; v < p->vcpus.count; v++) {
                const struct topology_cpu *c = topology_find_cpu(t, p->vcpus.cpus[v]);
                if (c && per_package[t->cores[c->core].package]++ == 0)
                        packages++;
                if (c && t->cores[c->core].n_cpus != host_threads)
                        uneven_cores = true;
        }

        p->threads = s->guest_threads;
        if (req->guest_threads == 0 && p->threads > 1 && uneven_cores)
                p->threads = 1; /* P-cores with 2 threads mixed with 1-thread E-cores */
        p->dies = 1;
        p->sockets = 1;
        unsigned guest_cores = n / p->threads;
        if (packages > 1 && guest_cores % packages == 0) {
                bool even = true;
                for (size_t k = 0; k < t->n_packages; k++)
                        even = even && (!per_package[k] || per_package[k] == n / packages);
                if (even)
                        p->sockets = packages;
        }
        p->cores = guest_cores / p->sockets;

        const char *sockets_why =
                p->sockets > 1
                        ? "; one guest socket per host package used, so the guest sees the NUMA split"
                        : "";
        if (req->guest_threads)
                p->why_topology = strdup_printf("%u guest cores of %u threads, as requested%s",
                                                guest_cores, p->threads, sockets_why);
        else if (p->threads > 1)
                p->why_topology = strdup_printf(
                        "%u guest cores x %u threads mirror the host's %u-thread cores, so the guest schedules SMT siblings the way the host does%s",
                        guest_cores, p->threads, host_threads, sockets_why);
        else if (host_threads > 1 && uneven_cores)
                p->why_topology = strdup_printf(
                        "the chosen cores have different thread counts (performance and efficiency cores), so the guest gets %u single-thread cores%s",
                        guest_cores, sockets_why);
        else if (host_threads > 1)
                p->why_topology = strdup_printf(
                        "%u vCPUs is not a multiple of the host's %u threads per core, so the guest gets %u single-thread cores; ask for a multiple of %u to mirror the host's SMT%s",
                        n, host_threads, guest_cores, host_threads, sockets_why);
        else
                p->why_topology = strdup_printf(
                        "the host's cores have one thread each, so the guest gets %u single-thread cores%s",
                        guest_cores, sockets_why);
        return p->why_topology ? 0 : -ENOMEM;
}

static int describe_vcpus(const struct selection *s, struct topology_pin_plan *p,
                          bool used_efficiency)
{
        const struct topology *t = s->topo;
        size_t n_l3 = 0, n_cores = 0;
        for (size_t i = 0; i < t->n_cores; i++)
                n_cores += s->chosen[i];
        _cleanup_free_ char *where = describe_chosen(t, s->chosen, &p->vcpus, &n_l3);
        if (!where)
                return -ENOMEM;
        const struct topology_core *hk = &t->cores[s->housekeeping];
        char hk_cpus[CPULIST_MAX];
        vmdef_cpulist_format(hk->cpus, hk->n_cpus, hk_cpus, sizeof(hk_cpus));
        _cleanup_free_ char *tail =
                s->chosen[s->housekeeping]
                        ? strdup_printf("; core %zu (CPUs %s) had to be used too", s->housekeeping,
                                        hk_cpus)
                        : strdup_printf(
                                  "; core %zu (CPUs %s) stays with the host for its interrupts and housekeeping",
                                  s->housekeeping, hk_cpus);
        if (!tail)
                return -ENOMEM;
        if (n_l3 <= 1)
                p->why_vcpus = strdup_printf(
                        "%u vCPUs on %zu whole core%s of one L3 domain (%s), so they share one cache%s",
                        (unsigned)p->vcpus.count, n_cores, n_cores == 1 ? "" : "s", where, tail);
        else
                p->why_vcpus = strdup_printf(
                        "%u vCPUs on %zu whole cores: no single L3 domain has that many free cores, so they fill the fullest ones first (%s)%s",
                        (unsigned)p->vcpus.count, n_cores, where, tail);
        if (!p->why_vcpus)
                return -ENOMEM;

        if (used_efficiency &&
            vl_strv_push(
                    &p->notes,
                    "not enough performance cores: some vCPUs run on efficiency cores, which are much slower") <
                    0)
                return -ENOMEM;
        if (s->chosen[s->housekeeping] &&
            vl_strv_pushf(
                    &p->notes,
                    "no whole core is left to the host: it has to share core %zu (CPUs %s) with vCPUs; use fewer vCPUs to keep the desktop side responsive",
                    s->housekeeping, hk_cpus) < 0)
                return -ENOMEM;
        _cleanup_free_ bool *numa = calloc(t->n_numa_nodes, sizeof(bool));
        if (!numa)
                return -ENOMEM;
        size_t n_numa = 0;
        for (size_t i = 0; i < t->n_cores; i++)
                if (s->chosen[i] && !numa[t->cores[i].numa]) {
                        numa[t->cores[i].numa] = true;
                        n_numa++;
                }
        if (n_numa > 1 &&
            vl_strv_pushf(
                    &p->notes,
                    "the vCPUs span %zu NUMA nodes: give the guest matching sockets, or fewer vCPUs to stay on one node",
                    n_numa) < 0)
                return -ENOMEM;
        return 0;
}

int topology_pin_suggest(const struct topology *topo, const struct topology_pin_request *req,
                         struct topology_pin_plan *out, struct vl_error *err)
{
        struct topology_pin_plan p = {0};
        struct selection s = {.topo = topo, .housekeeping = topology_housekeeping_core(topo)};
        _cleanup_free_ bool *chosen = calloc(topo->n_cores, sizeof(bool));
        _cleanup_free_ bool *perf = calloc(topo->n_cores, sizeof(bool));
        _cleanup_free_ bool *eff = calloc(topo->n_cores, sizeof(bool));
        _cleanup_free_ bool *hk_only = calloc(topo->n_cores, sizeof(bool));
        struct vmdef_cpulist service = {0};
        int r = -ENOMEM;
        if (!chosen || !perf || !eff || !hk_only)
                goto fail;
        s.chosen = chosen;

        if (req->n_vcpus == 0)
                return vl_error_set(err, 0, "the number of vCPUs must be at least 1");

        /* Mirror the host's SMT when the vCPU count allows whole cores. */
        unsigned host_threads = 1;
        for (size_t i = 0; i < topo->n_cores; i++)
                if (topo->cores[i].usable && !topo->cores[i].efficiency &&
                    topo->cores[i].n_cpus > host_threads)
                        host_threads = topo->cores[i].n_cpus;
        s.guest_threads = req->guest_threads                 ? req->guest_threads
                          : req->n_vcpus % host_threads == 0 ? host_threads
                                                             : 1;

        for (size_t i = 0; i < topo->n_cores; i++) {
                const struct topology_core *c = &topo->cores[i];
                if (!c->usable)
                        continue;
                if (i == s.housekeeping)
                        hk_only[i] = true;
                else if (c->efficiency)
                        eff[i] = true;
                else
                        perf[i] = true;
        }
        unsigned cap_perf = capacity_of(&s, perf), cap_eff = capacity_of(&s, eff);
        unsigned cap_hk = capacity_of(&s, hk_only);
        unsigned need = req->n_vcpus;
        if (cap_perf + cap_eff + cap_hk < need) {
                r = vl_error_set(
                        err, 0,
                        "%u vCPUs with %u threads per guest core do not fit on %s: it has %zu usable CPUs in %zu cores",
                        need, s.guest_threads, topo->source, topo->n_cpus, topo->n_cores);
                goto fail_set;
        }
        /* Tiers: performance cores, then efficiency cores, then the housekeeping core. */
        bool used_efficiency = false;
        if (cap_perf >= need) {
                need = select_cores(&s, perf, need);
        } else {
                memcpy(chosen, perf, topo->n_cores * sizeof(bool));
                need -= cap_perf;
                used_efficiency = cap_eff > 0;
                if (cap_eff >= need) {
                        need = select_cores(&s, eff, need);
                } else {
                        for (size_t i = 0; i < topo->n_cores; i++)
                                chosen[i] = chosen[i] || eff[i];
                        chosen[s.housekeeping] = true;
                        need = 0; /* the capacity check above guarantees the fit */
                }
        }

        /* vCPU n -> the nth usable thread of the chosen cores in hwloc order, whole
         * guest cores per host core. */
        unsigned left = req->n_vcpus;
        for (size_t i = 0; i < topo->n_cores && left > 0; i++) {
                if (!chosen[i])
                        continue;
                unsigned c = core_capacity(&topo->cores[i], s.guest_threads);
                for (unsigned k = 0; k < c && left > 0; k++, left--)
                        if (vmdef_cpulist_append(&p.vcpus, topo->cores[i].cpus[k]) < 0)
                                goto fail;
        }
        if (need > 0 || left > 0)
                goto fail; /* only an allocation failure leaves vCPUs without a place */
        /* Cores chosen by capacity may be more than needed only at the tail. */
        for (size_t i = 0; i < topo->n_cores; i++) {
                bool any = false;
                for (size_t v = 0; v < p.vcpus.count && chosen[i]; v++)
                        any = any || topology_find_cpu(topo, p.vcpus.cpus[v])->core == i;
                chosen[i] = any;
        }

        if ((r = choose_guest_topology(&s, req, host_threads, &p)) < 0 ||
            (r = describe_vcpus(&s, &p, used_efficiency)) < 0 ||
            (r = choose_service_cpus(&s, &p.vcpus, 1 + req->n_iothreads, &service,
                                     &p.why_emulator)) < 0 ||
            (r = split_service_cpus(&service, req->n_iothreads, &p)) < 0)
                goto fail;
        free(service.cpus);
        *out = p;
        return 0;
fail:
        r = vl_error_set(err, ENOMEM, "suggesting a pinning");
fail_set:
        free(service.cpus);
        topology_pin_plan_free(&p);
        return r;
}

void topology_pin_plan_free(struct topology_pin_plan *plan)
{
        free(plan->vcpus.cpus);
        free(plan->emulator.cpus);
        for (size_t i = 0; i < plan->n_iothreads; i++)
                free(plan->iothreads[i].cpus);
        free(plan->iothreads);
        free(plan->why_topology);
        free(plan->why_vcpus);
        free(plan->why_emulator);
        free(plan->why_iothreads);
        vl_strv_free(&plan->notes);
        *plan = (struct topology_pin_plan){0};
}
