/* Reserve the guest's memory as hugepages of the configured size, on the VM's NUMA
 * node when all its pinned CPUs are on one; put back exactly the previous pool size
 * (never 0 over pages someone else reserved). Done first, while memory is least
 * fragmented and before anything destructive, so a shortfall costs nothing. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/hostprep.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "vmdefs/vmdef.h"

struct hugepages_state {
        char pool[200]; /* the hugepages-NkB folder */
        unsigned long size_kb;
        unsigned long needed, previous, free_now, target;
        int node;    /* -1: the global pool */
        int n_nodes; /* NUMA nodes of the host */
        char problem[768];
};

static int read_ulong(const char *path, unsigned long *out)
{
        char line[64];
        int r = sysroot_read_line(path, line, sizeof(line));
        if (r < 0)
                return r;
        char *end;
        *out = strtoul(line, &end, 10);
        return end == line ? -EINVAL : 0;
}

static int hugepages_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        const struct vm_def *def = ctx->def;
        if (!def->allocate_hugepages || !def->hugepage_bytes)
                return 0;
        struct hugepages_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "hugepages");
        s->size_kb = (unsigned long)(def->hugepage_bytes / 1024);
        s->needed = (unsigned long)((def->memory_bytes + def->hugepage_bytes - 1) /
                                    def->hugepage_bytes);
        s->node = hostprep_vcpu_numa_node(def, &s->n_nodes);
        if (s->node >= 0)
                snprintf(s->pool, sizeof(s->pool),
                         "/sys/devices/system/node/node%d/hugepages/hugepages-%lukB", s->node,
                         s->size_kb);
        else
                snprintf(s->pool, sizeof(s->pool), "/sys/kernel/mm/hugepages/hugepages-%lukB",
                         s->size_kb);
        char path[256];
        snprintf(path, sizeof(path), "%s/nr_hugepages", s->pool);
        int r = read_ulong(path, &s->previous);
        snprintf(path, sizeof(path), "%s/free_hugepages", s->pool);
        if (r == 0)
                r = read_ulong(path, &s->free_now);
        if (r < 0) {
                snprintf(
                        s->problem, sizeof(s->problem),
                        "hugepages: this kernel has no %lu kB hugepage pool (%s); for 1G pages boot with hugepagesz=1G, or set [memory] hugepages = 2M",
                        s->size_kb, s->pool);
                *state = s;
                return 0;
        }
        unsigned long missing = s->needed > s->free_now ? s->needed - s->free_now : 0;
        s->target = s->previous + missing;
        unsigned long avail_kb = 0;
        _Bool have_avail = 0;
        char *meminfo = NULL;
        if (sysroot_read_file("/proc/meminfo", &meminfo) == 0) {
                const char *p = strstr(meminfo, "MemAvailable:");
                have_avail = p && sscanf(p, "MemAvailable: %lu", &avail_kb) == 1;
                free(meminfo);
        }
        if (have_avail && missing * s->size_kb > avail_kb)
                snprintf(
                        s->problem, sizeof(s->problem),
                        "hugepages: the VM needs %lu more %lu kB pages (%lu MiB) but only %lu MiB of memory is available; lower [memory] size or free memory",
                        missing, s->size_kb, missing * s->size_kb / 1024, avail_kb / 1024);
        if (missing == 0 && !s->problem[0]) {
                free(s); /* enough free pages are reserved already */
                return 0;
        }
        *state = s;
        return 0;
}

static int hugepages_describe(struct hostprep_ctx *ctx, const void *state,
                              struct hostprep_plan *plan)
{
        (void)ctx;
        const struct hugepages_state *s = state;
        if (s->problem[0])
                return plan_add(plan, "hugepages", "cannot reserve: %s", s->problem);
        char where[96] = "";
        if (s->node >= 0)
                snprintf(where, sizeof(where), " on NUMA node %d (the vCPUs' node)", s->node);
        else if (s->n_nodes > 1)
                snprintf(where, sizeof(where), " from all %d NUMA nodes (the vCPUs are not on one)",
                         s->n_nodes);
        return plan_add(
                plan, "hugepages", "reserve %lu x %lu kB pages%s: %s/nr_hugepages %lu -> %lu",
                s->target - s->previous, s->size_kb, where, s->pool, s->previous, s->target);
}

static int write_ulong(const char *path, unsigned long v, struct vl_error *err)
{
        char value[32];
        snprintf(value, sizeof(value), "%lu", v);
        return sysroot_write(path, value, err);
}

static int hugepages_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct hugepages_state *s = state;
        if (s->problem[0])
                return vl_error_set(err, 0, "%s", s->problem);
        char path[256], prev[32], added[32], desc[320];
        snprintf(path, sizeof(path), "%s/nr_hugepages", s->pool);
        snprintf(prev, sizeof(prev), "%lu", s->previous);
        snprintf(added, sizeof(added), "%lu", s->target - s->previous);
        snprintf(desc, sizeof(desc), "set %s back to %lu", path, s->previous);
        int r = step_journal(
                ctx, desc, (const char *const[]){"path", path, "pages", prev, "added", added, NULL},
                err);
        if (r < 0)
                return r;
        /* compaction makes contiguous free memory out of fragments; best effort */
        struct vl_error ignored;
        sysroot_write("/proc/sys/vm/compact_memory", "1", &ignored);
        r = write_ulong(path, s->target, err);
        unsigned long got = 0;
        if (r == 0)
                r = read_ulong(path, &got) < 0 ? vl_error_set(err, EIO, "read back %s", path) : 0;
        if (r == 0 && got < s->target) {
                write_ulong(path, s->previous, &ignored);
                char on_node[32] = "";
                if (s->node >= 0)
                        snprintf(on_node, sizeof(on_node), " on node %d", s->node);
                return vl_error_set(
                        err, 0,
                        "hugepages: reserved %lu of %lu pages%s (%lu kB each; memory is too fragmented or in use); freed them again. Reserve them at boot (hugepages=N on the kernel command line) or lower [memory] size",
                        got > s->previous ? got - s->previous : 0, s->target - s->previous, on_node,
                        s->size_kb);
        }
        if (r < 0)
                return r;
        step_log(ctx, LOG_INFO, "reserved %lu x %lu kB hugepages (%s %lu -> %lu)",
                 s->target - s->previous, s->size_kb, path, s->previous, s->target);
        return 0;
}

static int hugepages_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                          struct vl_error *err)
{
        const char *path = journal_record_get(rec, "path");
        const char *pages = journal_record_get(rec, "pages");
        if (!path || !pages || strncmp(path, "/sys/", 5) != 0 || strstr(path, ".."))
                return vl_error_set(err, EINVAL, "hugepages record without a valid path/pages");
        unsigned long now;
        char *end;
        unsigned long previous = strtoul(pages, &end, 10);
        if (*end || !*pages)
                return vl_error_set(err, EINVAL, "hugepages record: bad page count '%s'", pages);
        /* added: what we reserved; journals without it predate the field */
        const char *added_s = journal_record_get(rec, "added");
        unsigned long added = added_s ? strtoul(added_s, &end, 10) : 0;
        if (added_s && (*end || !*added_s))
                return vl_error_set(err, EINVAL, "hugepages record: bad added count '%s'", added_s);
        bool known = read_ulong(path, &now) == 0;
        if (!known || !added_s) {
                if (known && now == previous)
                        return 0;
                int r = write_ulong(path, previous, err);
                if (r == 0)
                        step_log(ctx, LOG_INFO, "hugepage pool %s back to %lu pages", path,
                                 previous);
                return r;
        }
        /* Take back our pages only while they are all still there: at or below the
         * size before the VM there is nothing of ours left (a second restore lands
         * here); above it by more than we added, someone else reserved pages while the
         * VM ran, and those stay. In between we cannot tell whose pages remain. */
        if (now <= previous)
                return 0;
        if (now < previous + added) {
                step_log(
                        ctx, LOG_WARNING,
                        "hugepage pool %s has %lu pages: more than the %lu before the VM, fewer than the %lu with its own; leaving it (some may be someone else's: lower it by hand if they are unused)",
                        path, now, previous, previous + added);
                return 0;
        }
        unsigned long want = now - added;
        int r = write_ulong(path, want, err);
        if (r == 0 && want != previous)
                step_log(
                        ctx, LOG_WARNING,
                        "hugepage pool %s: someone else reserved %lu more pages while the VM ran; freed only our %lu (%lu -> %lu)",
                        path, want - previous, added, now, want);
        else if (r == 0)
                step_log(ctx, LOG_INFO, "hugepage pool %s back to %lu pages", path, previous);
        return r;
}

static int hugepages_problems(const void *state, struct vl_strv *out)
{
        const struct hugepages_state *s = state;
        return s->problem[0] ? vl_strv_push(out, s->problem) : 0;
}

const struct hostprep_step step_hugepages = {
        .name = "hugepages",
        .inspect = hugepages_inspect,
        .describe = hugepages_describe,
        .apply = hugepages_apply,
        .undo = hugepages_undo,
        .free_state = free,
        .problems = hugepages_problems,
};
