/* Helpers for the topology tests: load machines, build definitions by hand. */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "topology/topology.h"

/* The Ryzen 5 1600 of the guide: 6 cores / 12 threads in two 3-core CCXs. */
#define RYZEN_1600 "pack:1 l3:2 core:3 pu:2"

static inline struct topology *load_synthetic(const char *desc)
{
        struct topology *t = NULL;
        struct vl_error err = {0};
        int r = topology_load(TOPOLOGY_SYNTHETIC, desc, &t, &err);
        if (r < 0)
                fail_msg("loading synthetic topology \"%s\": %s", desc, err.msg);
        return t;
}

static inline struct topology *load_fixture(const char *name)
{
        const char *root = getenv("SOURCE_ROOT");
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fixtures/hwloc/%s", root ? root : ".", name);
        struct topology *t = NULL;
        struct vl_error err = {0};
        int r = topology_load(TOPOLOGY_XML, path, &t, &err);
        if (r < 0)
                fail_msg("loading %s: %s", path, err.msg);
        return t;
}

static inline void cpulist_set(struct vmdef_cpulist *l, size_t n, const unsigned *cpus)
{
        free(l->cpus);
        l->cpus = calloc(n + 1, sizeof(unsigned));
        assert_non_null(l->cpus);
        memcpy(l->cpus, cpus, n * sizeof(unsigned));
        l->count = n;
}

#define CPUS(...)                                                                                  \
        (sizeof((unsigned[]){__VA_ARGS__}) / sizeof(unsigned)), (unsigned[])                       \
        {                                                                                          \
                __VA_ARGS__                                                                        \
        }

/* A definition with just the [cpu] part (the INI parser is not needed here). */
static inline struct vm_def *def_new(unsigned sockets, unsigned cores, unsigned threads)
{
        struct vm_def *d = calloc(1, sizeof(*d));
        assert_non_null(d);
        d->sockets = sockets;
        d->dies = 1;
        d->cores = cores;
        d->threads = threads;
        return d;
}

static inline void def_add_iothread(struct vm_def *d, const char *id, size_t n,
                                    const unsigned *cpus)
{
        d->iothreads = realloc(d->iothreads, (d->n_iothreads + 1) * sizeof(*d->iothreads));
        assert_non_null(d->iothreads);
        struct vmdef_iothread *io = &d->iothreads[d->n_iothreads++];
        *io = (struct vmdef_iothread){.id = strdup(id), .line = 30};
        if (n)
                cpulist_set(&io->pin, n, cpus);
}

static inline void def_free(struct vm_def *d)
{
        free(d->vcpu_pin.cpus);
        free(d->emulator_pin.cpus);
        for (size_t i = 0; i < d->n_iothreads; i++) {
                free(d->iothreads[i].id);
                free(d->iothreads[i].pin.cpus);
        }
        free(d->iothreads);
        free(d);
}

/* The finding with this key whose message contains every given fragment, or NULL. */
static inline const struct vmdef_diag *find_finding(const struct topology_pin_findings *f,
                                                    enum vmdef_severity sev, const char *key,
                                                    const char *frag1, const char *frag2)
{
        for (size_t i = 0; i < f->count; i++) {
                const struct vmdef_diag *d = &f->items[i];
                if (d->severity != sev || strcmp(d->key, key))
                        continue;
                if (frag1 && !strstr(d->msg, frag1))
                        continue;
                if (frag2 && !strstr(d->msg, frag2))
                        continue;
                return d;
        }
        return NULL;
}

static inline void print_findings(const struct topology_pin_findings *f)
{
        char line[1024];
        for (size_t i = 0; i < f->count; i++) {
                vmdef_diag_format(&f->items[i], "test.ini", line, sizeof(line));
                print_message("  %s\n", line);
        }
}

static inline bool list_has(const struct vmdef_cpulist *l, unsigned cpu)
{
        for (size_t i = 0; i < l->count; i++)
                if (l->cpus[i] == cpu)
                        return true;
        return false;
}

/* The host core of a CPU (it must exist). */
static inline size_t core_of(const struct topology *t, unsigned cpu)
{
        const struct topology_cpu *c = topology_find_cpu(t, cpu);
        assert_non_null(c);
        return c->core;
}

/* Checks the shape every suggestion must have: whole guest cores on one host core each,
 * no CPU twice, emulator and iothreads off the vCPU CPUs when the host has room. */
static inline void assert_plan_well_formed(const struct topology *t,
                                           const struct topology_pin_plan *p, unsigned n)
{
        assert_int_equal(p->vcpus.count, n);
        assert_int_equal(p->sockets * p->dies * p->cores * p->threads, n);
        for (size_t v = 0; v < n; v++) {
                for (size_t w = v + 1; w < n; w++)
                        assert_int_not_equal(p->vcpus.cpus[v], p->vcpus.cpus[w]);
                if (v % p->threads)
                        assert_int_equal(core_of(t, p->vcpus.cpus[v]),
                                         core_of(t, p->vcpus.cpus[v - v % p->threads]));
        }
        assert_true(p->emulator.count > 0);
        assert_non_null(p->why_topology);
        assert_non_null(p->why_vcpus);
        assert_non_null(p->why_emulator);
}
