/* hwloc -> struct topology: the only place that talks to hwloc. */
#include "topology/topology.h"

#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/macro.h"
#include "util/sort.h"

static void hwloc_topology_destroyp(hwloc_topology_t *t)
{
        if (*t)
                hwloc_topology_destroy(*t);
}
static void hwloc_bitmap_freep(hwloc_bitmap_t *b)
{
        if (*b)
                hwloc_bitmap_free(*b);
}
static void topology_freep(struct topology **t)
{
        topology_free(*t);
}

void topology_free(struct topology *topo)
{
        if (!topo)
                return;
        free(topo->source);
        free(topo->packages);
        free(topo->dies);
        free(topo->numa_nodes);
        free(topo->l3s);
        for (size_t i = 0; i < topo->n_cores; i++)
                free(topo->cores[i].cpus);
        free(topo->cores);
        free(topo->cpus);
        free(topo->offline);
        for (size_t i = 0; i < topo->n_kinds; i++)
                free(topo->kinds[i].name);
        free(topo->kinds);
        free(topo);
}

bool topology_looks_synthetic(const char *s)
{
        /* "pack:1 l3:2 core:3 pu:2": words of TYPE:COUNT, optionally with attributes in
         * parentheses; a path never has a space-separated "word:number" shape. */
        if (!s || !strchr(s, ':') || strchr(s, '/'))
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:() =.,-_",
                            *p))
                        return false;
        return true;
}

static int cmp_cpu(const void *a, const void *b)
{
        return vl_cmp_unsigned(&((const struct topology_cpu *)a)->os_index,
                               &((const struct topology_cpu *)b)->os_index);
}

const struct topology_cpu *topology_find_cpu(const struct topology *topo, unsigned os_index)
{
        struct topology_cpu key = {.os_index = os_index};
        return bsearch(&key, topo->cpus, topo->n_cpus, sizeof(key), cmp_cpu);
}

bool topology_cpu_offline(const struct topology *topo, unsigned os_index)
{
        for (size_t i = 0; i < topo->n_offline; i++)
                if (topo->offline[i] == os_index)
                        return true;
        return false;
}

size_t topology_housekeeping_core(const struct topology *topo)
{
        for (size_t i = 0; i < topo->n_cores; i++)
                if (topo->cores[i].usable)
                        return i;
        return 0;
}

/* Fills one domain array (packages, dies, L3s) from the objects of a type. Returns the
 * count, 0 when the host has none of them (the caller substitutes packages). */
static int read_domains(hwloc_topology_t ht, hwloc_obj_type_t type, bool use_os_index,
                        struct topology_domain **out, size_t *n_out)
{
        int n = hwloc_get_nbobjs_by_type(ht, type);
        *out = NULL;
        *n_out = 0;
        if (n <= 0)
                return 0;
        *out = calloc(n, sizeof(**out));
        if (!*out)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                hwloc_obj_t o = hwloc_get_obj_by_type(ht, type, i);
                (*out)[i].number = use_os_index && o->os_index != HWLOC_UNKNOWN_INDEX
                                           ? o->os_index
                                           : o->logical_index;
                if (hwloc_obj_type_is_cache(o->type))
                        (*out)[i].size_bytes = o->attr->cache.size;
        }
        *n_out = n;
        return 0;
}

static int copy_domains(const struct topology_domain *from, size_t n, struct topology_domain **out,
                        size_t *n_out)
{
        *out = calloc(n ? n : 1, sizeof(**out));
        if (!*out)
                return -ENOMEM;
        memcpy(*out, from, n * sizeof(**out));
        *n_out = n;
        return 0;
}

/* Logical index of obj's ancestor of that type, or fallback when it has none. */
static unsigned ancestor_index(hwloc_topology_t ht, hwloc_obj_type_t type, hwloc_obj_t obj,
                               unsigned fallback)
{
        hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(ht, type, obj);
        return a ? a->logical_index : fallback;
}

static unsigned numa_index(hwloc_topology_t ht, hwloc_obj_t core)
{
        /* NUMA nodes hang off the tree as memory children; match them by cpuset. */
        hwloc_obj_t node = NULL;
        while ((node = hwloc_get_next_obj_by_type(ht, HWLOC_OBJ_NUMANODE, node)))
                if (hwloc_bitmap_isincluded(core->cpuset, node->cpuset))
                        return node->logical_index;
        return 0;
}

static int read_cores(hwloc_topology_t ht, struct topology *t)
{
        /* A topology without Core objects (rare XML files) gets one core per PU. */
        hwloc_obj_type_t type =
                hwloc_get_nbobjs_by_type(ht, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
        int n = hwloc_get_nbobjs_by_type(ht, type);
        int n_pus = hwloc_get_nbobjs_by_type(ht, HWLOC_OBJ_PU);
        hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(ht);

        t->cores = calloc(n > 0 ? n : 1, sizeof(*t->cores));
        t->cpus = calloc(n_pus > 0 ? n_pus : 1, sizeof(*t->cpus));
        if (!t->cores || !t->cpus)
                return -ENOMEM;
        hwloc_obj_t obj = NULL;
        while ((obj = hwloc_get_next_obj_by_type(ht, type, obj))) {
                int weight = hwloc_bitmap_weight(obj->cpuset);
                if (weight <= 0)
                        continue; /* all its PUs are offline */
                struct topology_core *core = &t->cores[t->n_cores];
                core->package = ancestor_index(ht, HWLOC_OBJ_PACKAGE, obj, 0);
                core->die = ancestor_index(ht, HWLOC_OBJ_DIE, obj, core->package);
                core->l3 = ancestor_index(ht, HWLOC_OBJ_L3CACHE, obj, core->package);
                core->numa = numa_index(ht, obj);
                core->cpus = calloc(weight, sizeof(*core->cpus));
                if (!core->cpus)
                        return -ENOMEM;
                core->usable = true;
                unsigned pu;
                hwloc_bitmap_foreach_begin(pu, obj->cpuset)
                {
                        if (t->n_cpus >= (size_t)n_pus)
                                break;
                        core->cpus[core->n_cpus++] = pu;
                        bool ok = hwloc_bitmap_isset(allowed, pu);
                        core->usable = core->usable && ok;
                        t->cpus[t->n_cpus++] = (struct topology_cpu){
                                .os_index = pu, .core = t->n_cores, .allowed = ok};
                }
                hwloc_bitmap_foreach_end();
                if (core->n_cpus > t->threads_per_core)
                        t->threads_per_core = core->n_cpus;
                t->n_cores++;
        }
        qsort(t->cpus, t->n_cpus, sizeof(*t->cpus), cmp_cpu);
        return 0;
}

static int read_offline(hwloc_topology_t ht, struct topology *t)
{
        /* The complete cpuset also holds CPUs the kernel knows but that are offline. */
        _cleanup_(hwloc_bitmap_freep) hwloc_bitmap_t off = hwloc_bitmap_alloc();
        if (!off)
                return -ENOMEM;
        hwloc_bitmap_andnot(off, hwloc_topology_get_complete_cpuset(ht),
                            hwloc_topology_get_topology_cpuset(ht));
        int n = hwloc_bitmap_weight(off);
        if (n <= 0)
                return 0;
        t->offline = calloc(n, sizeof(*t->offline));
        if (!t->offline)
                return -ENOMEM;
        unsigned pu;
        hwloc_bitmap_foreach_begin(pu, off) t->offline[t->n_offline++] = pu;
        hwloc_bitmap_foreach_end();
        return 0;
}

static int read_kinds(hwloc_topology_t ht, struct topology *t)
{
        int n = hwloc_cpukinds_get_nr(ht, 0);
        size_t count = n > 0 ? (size_t)n : 1;
        t->kinds = calloc(count, sizeof(*t->kinds));
        if (!t->kinds)
                return -ENOMEM;
        t->n_kinds = count;
        if (n <= 0) {
                /* Homogeneous, or the OS says nothing: one kind, all performance. */
                t->kinds[0].performance = true;
                t->kinds[0].name = strdup("all cores");
                return t->kinds[0].name ? 0 : -ENOMEM;
        }
        _cleanup_(hwloc_bitmap_freep) hwloc_bitmap_t set = hwloc_bitmap_alloc();
        if (!set)
                return -ENOMEM;
        for (int k = 0; k < n; k++) {
                int efficiency;
                unsigned nr_infos = 0;
                struct hwloc_info_s *infos = NULL;
                if (hwloc_cpukinds_get_info(ht, k, set, &efficiency, &nr_infos, &infos, 0) < 0)
                        return -errno;
                const char *name = NULL;
                for (unsigned i = 0; i < nr_infos; i++)
                        if (streq(infos[i].name, "CoreType"))
                                name = infos[i].value;
                /* Kinds come least powerful first: the last is the performance kind. */
                t->kinds[k].performance = k == n - 1;
                if (name)
                        t->kinds[k].name = strdup(name);
                else if (asprintf(&t->kinds[k].name, "kind %d", k) < 0)
                        t->kinds[k].name = NULL;
                if (!t->kinds[k].name)
                        return -ENOMEM;
                for (size_t i = 0; i < t->n_cpus; i++)
                        if (hwloc_bitmap_isset(set, t->cpus[i].os_index))
                                t->cpus[i].kind = k;
        }
        for (size_t i = 0; i < t->n_cpus; i++)
                if (!t->kinds[t->cpus[i].kind].performance)
                        t->cores[t->cpus[i].core].efficiency = true;
        return 0;
}

static int convert(hwloc_topology_t ht, struct topology *t)
{
        int r = read_domains(ht, HWLOC_OBJ_PACKAGE, true, &t->packages, &t->n_packages);
        if (r < 0)
                return r;
        if (t->n_packages == 0) {
                /* No package objects: the whole machine is one package. */
                t->packages = calloc(1, sizeof(*t->packages));
                if (!t->packages)
                        return -ENOMEM;
                t->n_packages = 1;
        }
        if ((r = read_domains(ht, HWLOC_OBJ_DIE, false, &t->dies, &t->n_dies)) < 0)
                return r;
        if (t->n_dies == 0 &&
            (r = copy_domains(t->packages, t->n_packages, &t->dies, &t->n_dies)) < 0)
                return r;
        if ((r = read_domains(ht, HWLOC_OBJ_L3CACHE, false, &t->l3s, &t->n_l3s)) < 0)
                return r;
        if (t->n_l3s == 0 && (r = copy_domains(t->packages, t->n_packages, &t->l3s, &t->n_l3s)) < 0)
                return r;
        if ((r = read_domains(ht, HWLOC_OBJ_NUMANODE, true, &t->numa_nodes, &t->n_numa_nodes)) < 0)
                return r;
        if (t->n_numa_nodes == 0) {
                t->numa_nodes = calloc(1, sizeof(*t->numa_nodes));
                if (!t->numa_nodes)
                        return -ENOMEM;
                t->n_numa_nodes = 1;
        }
        if ((r = read_cores(ht, t)) < 0 || (r = read_offline(ht, t)) < 0 ||
            (r = read_kinds(ht, t)) < 0)
                return r;
        return 0;
}

static int describe_source(enum topology_origin origin, const char *arg, char **out)
{
        int n;
        if (origin == TOPOLOGY_XML)
                n = asprintf(out, "XML file %s", arg);
        else if (origin == TOPOLOGY_SYNTHETIC)
                n = asprintf(out, "synthetic topology \"%s\"", arg);
        else if (getenv("HWLOC_XMLFILE"))
                n = asprintf(out, "XML file %s (HWLOC_XMLFILE)", getenv("HWLOC_XMLFILE"));
        else if (getenv("HWLOC_SYNTHETIC"))
                n = asprintf(out, "synthetic topology \"%s\" (HWLOC_SYNTHETIC)",
                             getenv("HWLOC_SYNTHETIC"));
        else
                n = asprintf(out, "this host");
        if (n < 0) {
                *out = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* hwloc dlopens every plugin it finds (OpenCL, GL, PCI, libxml and their libraries)
 * at the first init: about 2.5 ms, a third of vmlaunch's own start, for nothing, since
 * vmlaunch reads CPUs only and hwloc's built-in parser reads lstopo's XML files. An
 * empty HWLOC_PLUGINS_PATH loads none; one the user set is kept, and the variable is
 * gone again before QEMU or a hook could inherit it. */
static int topology_init_without_plugins(hwloc_topology_t *ht)
{
        bool ours = !getenv("HWLOC_PLUGINS_PATH") && setenv("HWLOC_PLUGINS_PATH", "", 0) == 0;
        int r = hwloc_topology_init(ht);
        int saved = errno;
        if (ours)
                unsetenv("HWLOC_PLUGINS_PATH");
        errno = saved;
        return r;
}

int topology_load(enum topology_origin origin, const char *arg, struct topology **out,
                  struct vl_error *err)
{
        _cleanup_(hwloc_topology_destroyp) hwloc_topology_t ht = NULL;
        _cleanup_(topology_freep) struct topology *t = NULL;

        if (topology_init_without_plugins(&ht) < 0) {
                ht = NULL;
                return vl_error_set(err, errno, "hwloc: cannot create a topology");
        }
        /* Keep CPUs outside our cgroup in view, so pins on them are reported as not
         * allowed instead of "does not exist". */
        hwloc_topology_set_flags(ht, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
        if (origin == TOPOLOGY_XML) {
                if (access(arg, R_OK) < 0)
                        return vl_error_set(
                                err, errno,
                                "topology file %s (expected an XML file written by `lstopo --of xml`)",
                                arg);
                if (hwloc_topology_set_xml(ht, arg) < 0)
                        return vl_error_set(err, errno, "hwloc cannot use topology file %s", arg);
        } else if (origin == TOPOLOGY_SYNTHETIC) {
                if (hwloc_topology_set_synthetic(ht, arg) < 0)
                        return vl_error_set(
                                err, 0,
                                "invalid synthetic topology \"%s\"; expected levels like \"pack:1 l3:2 core:3 pu:2\"",
                                arg);
        }
        if (hwloc_topology_load(ht) < 0) {
                if (origin == TOPOLOGY_XML)
                        return vl_error_set(
                                err, errno,
                                "hwloc cannot read topology file %s (expected `lstopo --of xml` output)",
                                arg);
                return vl_error_set(err, errno, "hwloc cannot read the CPU topology");
        }

        t = calloc(1, sizeof(*t));
        if (!t)
                return vl_error_set(err, ENOMEM, "reading the CPU topology");
        int r = describe_source(origin, arg, &t->source);
        if (r >= 0)
                r = convert(ht, t);
        if (r < 0)
                return vl_error_set(err, -r, "reading the CPU topology");
        if (t->n_cores == 0)
                return vl_error_set(err, 0, "%s has no online CPU", t->source);
        *out = TAKE_PTR(t);
        return 0;
}

size_t topology_domains_to_fit(size_t *cap, size_t n_domains, size_t need, bool *fits)
{
        size_t used = 0;
        while (need > 0) {
                size_t best = 0;
                for (size_t d = 1; d < n_domains; d++)
                        if (cap[d] > cap[best])
                                best = d;
                if (!n_domains || !cap[best])
                        break;
                need = need > cap[best] ? need - cap[best] : 0;
                cap[best] = 0;
                used++;
        }
        *fits = need == 0;
        return used;
}
