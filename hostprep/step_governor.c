/* Set the CPU frequency governor of the pinned CPUs (or all) to the configured one,
 * recording each CPU's previous governor; put each back on restore. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "vmdefs/vmdef.h"
#include "util/array.h"
#include "util/macro.h"

struct governor_change {
        unsigned cpu;
        char previous[64];
};

struct governor_state {
        const char *target;
        struct governor_change *changes;
        size_t count;
};

static void governor_path(unsigned cpu, char *buf, size_t len)
{
        snprintf(buf, len, "/sys/devices/system/cpu/cpu%u/cpufreq/scaling_governor", cpu);
}

/* Every CPU that has a cpuN folder, for governor_cpus = all. */
static int all_cpus(unsigned **cpus, size_t *n)
{
        *cpus = NULL;
        *n = 0;
        size_t cap = 0;
        struct vl_strv entries;
        if (sysroot_list_dir("/sys/devices/system/cpu", &entries) < 0)
                return 0;
        int r = 0;
        for (size_t i = 0; i < entries.count && r == 0; i++) {
                char *end;
                const char *name = entries.items[i];
                if (strncmp(name, "cpu", 3) != 0 || !name[3])
                        continue;
                unsigned long cpu = strtoul(name + 3, &end, 10);
                if (*end)
                        continue;
                if (VL_ARRAY_GROW(*cpus, cap, *n) < 0) {
                        r = -ENOMEM;
                        break;
                }
                (*cpus)[(*n)++] = (unsigned)cpu;
        }
        vl_strv_free(&entries);
        return r;
}

static int governor_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        const struct vm_def *def = ctx->def;
        if (!def->governor)
                return 0;
        unsigned *cpus = NULL;
        size_t n = 0;
        int r = def->governor_cpus == VMDEF_GOVERNOR_ALL ? all_cpus(&cpus, &n)
                                                         : pinned_cpus(def, &cpus, &n);
        if (r == 0 && n == 0 && def->governor_cpus == VMDEF_GOVERNOR_PINNED)
                r = all_cpus(&cpus, &n); /* nothing pinned: the guest may run anywhere */
        if (r < 0)
                return vl_error_set(err, -r, "governor");
        struct governor_state *s = calloc(1, sizeof(*s));
        if (!s) {
                free(cpus);
                return vl_error_set(err, ENOMEM, "governor");
        }
        s->target = def->governor;
        s->changes = calloc(n ? n : 1, sizeof(*s->changes));
        if (!s->changes) {
                free(cpus);
                free(s);
                return vl_error_set(err, ENOMEM, "governor");
        }
        for (size_t i = 0; i < n; i++) {
                char path[PATH_MAX], current[64];
                governor_path(cpus[i], path, sizeof(path));
                /* no cpufreq (VMs, some servers): nothing to set, skip cleanly */
                if (sysroot_read_line(path, current, sizeof(current)) < 0 ||
                    streq(current, s->target))
                        continue;
                s->changes[s->count].cpu = cpus[i];
                snprintf(s->changes[s->count].previous, sizeof(s->changes[0].previous), "%s",
                         current);
                s->count++;
        }
        free(cpus);
        if (s->count == 0) {
                free(s->changes);
                free(s);
                return 0;
        }
        *state = s;
        return 0;
}

static int governor_describe(struct hostprep_ctx *ctx, const void *state,
                             struct hostprep_plan *plan)
{
        (void)ctx;
        const struct governor_state *s = state;
        for (size_t i = 0; i < s->count; i++)
                if (plan_add(plan, "governor", "cpu%u governor %s -> %s", s->changes[i].cpu,
                             s->changes[i].previous, s->target) < 0)
                        return -ENOMEM;
        return 0;
}

static int governor_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct governor_state *s = state;
        for (size_t i = 0; i < s->count; i++) {
                const struct governor_change *c = &s->changes[i];
                char path[PATH_MAX], cpu[16], desc[128];
                governor_path(c->cpu, path, sizeof(path));
                snprintf(cpu, sizeof(cpu), "%u", c->cpu);
                snprintf(desc, sizeof(desc), "set cpu%u governor back to %s", c->cpu, c->previous);
                int r = step_journal(
                        ctx, desc, (const char *const[]){"cpu", cpu, "governor", c->previous, NULL},
                        err);
                if (r == 0)
                        r = sysroot_write(path, s->target, err);
                if (r < 0)
                        return r;
                step_log(ctx, LOG_INFO, "cpu%u governor %s -> %s", c->cpu, c->previous, s->target);
        }
        return 0;
}

static int governor_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                         struct vl_error *err)
{
        const char *cpu = journal_record_get(rec, "cpu");
        const char *previous = journal_record_get(rec, "governor");
        char *end;
        if (!cpu || !previous || !*cpu)
                return vl_error_set(err, EINVAL, "governor record without cpu/governor");
        unsigned long n = strtoul(cpu, &end, 10);
        if (*end)
                return vl_error_set(err, EINVAL, "governor record: bad cpu '%s'", cpu);
        char path[PATH_MAX], current[64];
        governor_path((unsigned)n, path, sizeof(path));
        if (sysroot_read_line(path, current, sizeof(current)) == 0 && streq(current, previous))
                return 0;
        int r = sysroot_write(path, previous, err);
        if (r == 0)
                step_log(ctx, LOG_INFO, "cpu%s governor back to %s", cpu, previous);
        return r;
}

static void governor_free(void *state)
{
        struct governor_state *s = state;
        free(s->changes);
        free(s);
}

const struct hostprep_step step_governor = {
        .name = "governor",
        .inspect = governor_inspect,
        .describe = governor_describe,
        .apply = governor_apply,
        .undo = governor_undo,
        .free_state = governor_free,
};
