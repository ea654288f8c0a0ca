/* Host CPU topology, read once from hwloc into plain data, and the reasoning on it:
 * describing it, checking a definition's pinning, suggesting a pinning.
 *
 * Only topology_load() talks to hwloc (this host, an XML file written by
 * `lstopo --of xml`, or a synthetic description); everything else is a pure function
 * of a struct topology, so tests can reason about machines we do not have.
 *
 * CPU numbers are always OS indexes (what /sys/devices/system/cpu/cpuN, vcpu_pin and
 * sched_setaffinity use), never hwloc's logical indexes. Cores, L3 domains and dies are
 * numbered in hwloc's logical order (lstopo's "L#"), packages and NUMA nodes by OS index.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

/* One logical CPU (hwloc PU, a hardware thread). */
struct topology_cpu {
        unsigned os_index;
        unsigned core; /* index into topology.cores */
        unsigned kind; /* index into topology.kinds; 0 when there are none */
        bool allowed;  /* in vmlaunch's cpuset (cgroup): pinning elsewhere fails */
};

struct topology_core {
        unsigned package, die, numa, l3; /* indexes into the domain arrays below */
        unsigned *cpus;                  /* OS indexes of its sibling threads, ascending */
        size_t n_cpus;
        bool efficiency; /* one of its CPUs is of a less powerful kind (hybrid CPUs) */
        bool usable;     /* every CPU allowed */
};

/* A package, die, NUMA node or L3 domain. `number` is the OS index for packages and
 * NUMA nodes and the logical index for dies and L3 caches. When the host reports no L3
 * (or no die), each package stands in as one. */
struct topology_domain {
        unsigned number;
        uint64_t size_bytes; /* L3 size, 0 when unknown or not a cache */
};

struct topology_cpukind {
        char *name;       /* hwloc's CoreType ("IntelAtom", "IntelCore") or "kind N" */
        bool performance; /* the most powerful kind; the others are efficiency cores */
};

struct topology {
        char *source; /* "this host", "XML file PATH" or "synthetic topology DESC" */
        struct topology_domain *packages, *dies, *numa_nodes, *l3s;
        size_t n_packages, n_dies, n_numa_nodes, n_l3s;
        struct topology_core *cores; /* hwloc logical order: cores of one L3 are adjacent */
        size_t n_cores;
        struct topology_cpu *cpus; /* online CPUs by ascending OS index */
        size_t n_cpus;
        unsigned *offline; /* CPUs the machine has but that are offline */
        size_t n_offline;
        struct topology_cpukind *kinds; /* least powerful first; n_kinds > 1: hybrid */
        size_t n_kinds;
        unsigned threads_per_core; /* the most CPUs any core has */
};

enum topology_origin {
        TOPOLOGY_HOST,      /* this machine (hwloc's HWLOC_XMLFILE/HWLOC_SYNTHETIC apply) */
        TOPOLOGY_XML,       /* arg: a file written by `lstopo --of xml` */
        TOPOLOGY_SYNTHETIC, /* arg: e.g. "pack:1 l3:2 core:3 pu:2" */
};

int topology_load(enum topology_origin origin, const char *arg, struct topology **out,
                  struct vl_error *err);
void topology_free(struct topology *topo);

/* True when s reads like an hwloc synthetic description ("pack:1 l3:2 core:3 pu:2"),
 * so `--topology` can take either a file or a description. */
bool topology_looks_synthetic(const char *s);

/* The CPU with this OS index, or NULL when it is offline or does not exist. */
const struct topology_cpu *topology_find_cpu(const struct topology *topo, unsigned os_index);
bool topology_cpu_offline(const struct topology *topo, unsigned os_index);

/* The core left to the host for interrupts and housekeeping: the first usable core of
 * the first package (the kernel's boot CPU and most unpinned IRQs live there). */
size_t topology_housekeeping_core(const struct topology *topo);

/* How many domains, taken largest first, it takes to hold `need` CPUs when domain d
 * has cap[d] free (cap is used up). *fits is false when all of them are too few.
 * The suggestion and the check both count L3 domains this way, so they agree. */
size_t topology_domains_to_fit(size_t *cap, size_t n_domains, size_t need, bool *fits);

/* A few readable lines: packages, NUMA nodes, L3 domains, cores and their siblings,
 * core kinds, offline CPUs. Returns 0 or -ENOMEM. */
int topology_describe(const struct topology *topo, struct vl_strv *lines);

/* ---- pinning suggestion ---- */

struct topology_pin_request {
        unsigned n_vcpus;
        unsigned guest_threads; /* threads per guest core; 0: mirror the host */
        unsigned n_iothreads;
};

struct topology_pin_plan {
        unsigned sockets, dies, cores, threads; /* guest topology */
        struct vmdef_cpulist vcpus;             /* vCPU n runs on vcpus.cpus[n] */
        struct vmdef_cpulist emulator;
        struct vmdef_cpulist *iothreads; /* iothread i (io<i+1>) */
        size_t n_iothreads;
        /* One sentence per choice, printed as INI comments and in --json "reasons". */
        char *why_topology, *why_vcpus, *why_emulator, *why_iothreads;
        struct vl_strv notes; /* caveats: efficiency cores used, nothing left to the host */
};

/* Chooses whole cores for the vCPUs (one L3 domain, then one NUMA node, then one
 * package before spilling; the housekeeping core and efficiency cores last) and puts
 * the emulator and iothreads on CPUs left to the host. Pure. Returns 0, -EINVAL (does
 * not fit; err says why) or -ENOMEM. */
int topology_pin_suggest(const struct topology *topo, const struct topology_pin_request *req,
                         struct topology_pin_plan *out, struct vl_error *err);
void topology_pin_plan_free(struct topology_pin_plan *plan);

/* The plan as an INI block ready to paste: [cpu] sockets/dies/cores/threads, vcpu_pin,
 * emulator_pin and [iothreads] io1..ioN, each preceded by its reason as a comment. */
int topology_pin_plan_ini(const struct topology_pin_plan *plan, struct vl_strv *lines);

/* For `vcpu_pin = auto`: when def->vcpu_pin_auto, fills def->vcpu_pin for the
 * definition's own guest topology (vmdef_vcpu_count vCPUs, def->threads per core) and,
 * when they are empty, def->emulator_pin and the pins of def's iothreads. Leaves def
 * alone otherwise. One line per choice is appended to `reasons` (may be NULL).
 * Returns 0, -EINVAL (does not fit this host; err says why) or -ENOMEM. */
int topology_apply_auto_pin(const struct topology *topo, struct vm_def *def,
                            struct vl_strv *reasons, struct vl_error *err);

/* ---- pinning validation ---- */

struct topology_pin_findings {
        struct vmdef_diag *items; /* section "cpu" or "iothreads", key = the pin key */
        size_t count, cap;
        size_t n_errors;
};

/* Checks a definition's vcpu_pin, emulator_pin and iothread pins against the topology:
 * CPUs that do not exist, are offline or not allowed (errors); guest SMT siblings not on
 * one host core, vCPUs spanning several L3 domains / NUMA nodes, emulator or iothreads
 * sharing vCPU CPUs, no whole core left to the host, vCPUs on the housekeeping core or
 * on efficiency cores (warnings). Each finding says what to change. Pure.
 * Returns 0 or -ENOMEM. */
int topology_pin_check(const struct topology *topo, const struct vm_def *def,
                       struct topology_pin_findings *out);
void topology_pin_findings_free(struct topology_pin_findings *findings);
