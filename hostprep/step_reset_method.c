/* [gpu] reset_method: for the run, each function of the GPU's group resets the way the
 * definition says (the kernel's reset_method attribute, Linux 5.15+); the previous
 * list is journaled first and written back on restore. `auto` writes device_specific
 * to a card vendor-reset knows while its module is loaded (hostprep/gpu_reset.h), and
 * changes nothing else. Placed after the vfio step: undone in reverse, the list is
 * put back after the health check (whose one reset should use the run's method) and
 * before the functions go back to their drivers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/gpu_lost.h"
#include "hostprep/gpu_reset.h"
#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "util/macro.h"
#include "vmdefs/vmdef.h"

struct reset_change {
        char addr[PCI_ADDR_LEN];
        char before[128]; /* the kernel's list now; "" for none */
        char after[128];
};

struct reset_state {
        struct reset_change *changes;
        size_t count;
        struct vl_strv problems;
};

static void reset_free(void *state)
{
        struct reset_state *s = state;
        free(s->changes);
        vl_strv_free(&s->problems);
        free(s);
}

static int reset_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        const char *want = ctx->def->gpu_reset_method;
        if (!ctx->def->has_gpu || !want)
                return 0;
        struct hostprep_reset_info *infos = NULL;
        size_t n = 0;
        struct hostprep_vendor_reset vr;
        hostprep_vendor_reset_read(&vr);
        struct reset_state *s = calloc(1, sizeof(*s));
        if (!s || hostprep_reset_infos(ctx->def, &infos, &n) < 0 ||
            !(s->changes = calloc(n ? n : 1, sizeof(*s->changes)))) {
                free(infos);
                if (s)
                        reset_free(s);
                return vl_error_set(err, ENOMEM, "reset_method");
        }
        bool is_auto = streq(want, "auto");
        for (size_t i = 0; i < n; i++) {
                const struct hostprep_reset_info *info = &infos[i];
                const char *to = is_auto ? hostprep_reset_auto(info, &vr) : want;
                if (!to)
                        continue;
                if (!info->has_method_file) {
                        char line[256];
                        snprintf(
                                line, sizeof(line),
                                "[gpu] reset_method: %s has no reset_method attribute (Linux 5.15 or later has it); remove the key or update the kernel",
                                info->addr);
                        if (vl_strv_push(&s->problems, line) < 0)
                                break;
                        continue;
                }
                if (streq(info->methods, to))
                        continue;
                struct reset_change *c = &s->changes[s->count++];
                snprintf(c->addr, sizeof(c->addr), "%s", info->addr);
                snprintf(c->before, sizeof(c->before), "%s", info->methods);
                snprintf(c->after, sizeof(c->after), "%s", to);
        }
        free(infos);
        if (!s->count && !s->problems.count) {
                reset_free(s);
                return 0;
        }
        *state = s;
        return 0;
}

static int reset_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct reset_state *s = state;
        for (size_t i = 0; i < s->count; i++) {
                const struct reset_change *c = &s->changes[i];
                if (plan_add(plan, "reset_method", "%s reset_method '%s' -> '%s'", c->addr,
                             c->before, c->after) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int reset_problems(const void *state, struct vl_strv *out)
{
        const struct reset_state *s = state;
        for (size_t i = 0; i < s->problems.count; i++)
                if (vl_strv_push(out, s->problems.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* An empty list is written as a newline: the kernel reads "" as "no method", and a
 * zero-length write never reaches it. */
static int write_methods(const char *addr, const char *methods, struct vl_error *err)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset_method", addr);
        return sysroot_write(path, methods[0] ? methods : "\n", err);
}

static int reset_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct reset_state *s = state;
        if (s->problems.count)
                return vl_error_set_plain(err, EINVAL, "%s", s->problems.items[0]);
        for (size_t i = 0; i < s->count; i++) {
                const struct reset_change *c = &s->changes[i];
                char desc[256];
                snprintf(desc, sizeof(desc), "set %s reset_method back to '%s'", c->addr,
                         c->before);
                int r = step_journal(
                        ctx, desc,
                        (const char *const[]){"device", c->addr, "before", c->before, NULL}, err);
                if (r == 0)
                        r = write_methods(c->addr, c->after, err);
                if (r < 0)
                        return vl_error_prefix(err, "%s reset_method '%s'", c->addr, c->after);
                step_log(ctx, LOG_INFO, "%s reset_method '%s' -> '%s'", c->addr, c->before,
                         c->after);
        }
        return 0;
}

static int reset_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                      struct vl_error *err)
{
        const char *addr = journal_record_get(rec, "device");
        const char *before = journal_record_get(rec, "before");
        if (!addr || !pci_addr_is_valid(addr) || !before)
                return vl_error_set(err, EINVAL, "reset_method record without a device");
        char path[PATH_MAX], now[128];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
        if (!sysroot_exists(path)) {
                /* the attribute went with the device; a new one starts from the default */
                step_log(ctx, LOG_WARNING, "%s is gone from the PCI bus: its reset_method with it",
                         addr);
                return 0;
        }
        struct hostprep_gpu_lost lost;
        bool stale;
        if (hostprep_gpu_lost_read(ctx->opts->run_dir, &lost, &stale) > 0) {
                bool is_lost = hostprep_gpu_lost_find(&lost, addr) != NULL;
                hostprep_gpu_lost_free(&lost);
                /* the kernel probes each method on the device: not on one that hangs */
                if (is_lost)
                        return 0;
        }
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset_method", addr);
        if (sysroot_read_line(path, now, sizeof(now)) == 0 && streq(now, before))
                return 0;
        int r = write_methods(addr, before, err);
        if (r == 0)
                step_log(ctx, LOG_INFO, "%s reset_method back to '%s'", addr, before);
        return r;
}

const struct hostprep_step step_reset_method = {
        .name = "reset_method",
        .inspect = reset_inspect,
        .describe = reset_describe,
        .apply = reset_apply,
        .undo = reset_undo,
        .free_state = reset_free,
        .problems = reset_problems,
};
