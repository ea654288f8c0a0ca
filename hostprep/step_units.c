/* Stop the configured systemd units (default display-manager.service) and wait for
 * each stop job; start the ones that were active again on restore. A unit that does
 * not exist or is not running (headless host) is skipped. Then wait (pidfds, one
 * deadline) for the processes still holding the GPU's device nodes to exit, so the
 * modules can be unloaded; survivors are named and the step fails (rolling back). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/holders.h"
#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "util/cleanup.h"
#include "vmdefs/vmdef.h"
#include "util/clock.h"

struct units_state {
        struct vl_strv active;
};

static int units_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        const struct vm_def *def = ctx->def;
        if (!def->n_stop_units)
                return 0;
        struct units_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "units");
        int r = 0;
        for (size_t i = 0; i < def->n_stop_units && r == 0; i++) {
                enum hostprep_unit_state st;
                char *id = NULL;
                r = ctx->units->query(ctx->units->userdata, def->stop_units[i], &st, &id, err);
                free(id);
                if (r == 0 && st == HOSTPREP_UNIT_ACTIVE)
                        r = vl_strv_push(&s->active, def->stop_units[i]) < 0
                                    ? vl_error_set(err, ENOMEM, "units")
                                    : 0;
        }
        if (r < 0 || s->active.count == 0) {
                vl_strv_free(&s->active);
                free(s);
                return r;
        }
        *state = s;
        return 0;
}

static int units_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct units_state *s = state;
        for (size_t i = 0; i < s->active.count; i++)
                if (plan_add(plan, "units", "stop %s", s->active.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* "process 1200 (Xorg) of gdm.service holds /dev/nvidia0, ..." */
static char *describe_holders(const struct gpu_holder *h, size_t n)
{
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(mem, "%sprocess %d (%s)%s%s holds %s", i ? ", " : "", h[i].pid, h[i].comm,
                        h[i].unit[0] ? " of " : "", h[i].unit, h[i].node);
        if (fclose(mem) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

static int wait_for_holders(struct hostprep_ctx *ctx, const struct units_state *s,
                            struct vl_error *err)
{
        const struct vm_def *def = ctx->def;
        if (!def->has_gpu)
                return 0;
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        struct pci_group g;
        struct vl_error ignored = {0};
        if (pci_group_read(addr, &g, &ignored) < 0)
                return 0; /* the checks step has said so already */
        struct gpu_holder *left = NULL;
        size_t n = 0;
        int r = holders_wait_gone(&g, ctx->processes, vl_monotonic_ms() + ctx->timeout_ms, &left,
                                  &n, err);
        pci_group_free(&g);
        if (r == -EBUSY) {
                _cleanup_free_ char *who = describe_holders(left, n);
                vl_error_set(
                        err, 0,
                        "after stopping %s%s, %zu process(es) still held the GPU %u ms later: %s; stop them (or add their units to [host] stop_units) and try again",
                        s->active.items[0], s->active.count > 1 ? " and the other units" : "", n,
                        ctx->timeout_ms, who ? who : "(out of memory)");
        }
        free(left);
        return r;
}

static int units_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct units_state *s = state;
        for (size_t i = 0; i < s->active.count; i++) {
                const char *unit = s->active.items[i];
                char desc[256];
                snprintf(desc, sizeof(desc), "start %s", unit);
                int r = step_journal(ctx, desc, (const char *const[]){"unit", unit, NULL}, err);
                if (r == 0)
                        r = ctx->units->stop(ctx->units->userdata, unit, ctx->timeout_ms, err);
                if (r < 0)
                        return r;
                step_log(ctx, LOG_INFO, "stopped %s", unit);
        }
        return wait_for_holders(ctx, s, err);
}

static int units_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                      struct vl_error *err)
{
        const char *unit = journal_record_get(rec, "unit");
        if (!unit || !*unit)
                return vl_error_set(err, EINVAL, "units record without a unit");
        enum hostprep_unit_state st;
        char *id = NULL;
        int r = ctx->units->query(ctx->units->userdata, unit, &st, &id, err);
        free(id);
        if (r < 0)
                return r;
        if (st == HOSTPREP_UNIT_ACTIVE)
                return 0;
        r = ctx->units->start(ctx->units->userdata, unit, ctx->timeout_ms, err);
        if (r == 0)
                step_log(ctx, LOG_INFO, "started %s", unit);
        if (r > 0)
                step_log(ctx, LOG_INFO, "queued the start of %s (runs once we have stopped)", unit);
        return r < 0 ? r : 0;
}

static void units_free(void *state)
{
        struct units_state *s = state;
        vl_strv_free(&s->active);
        free(s);
}

const struct hostprep_step step_units = {
        .name = "units",
        .inspect = units_inspect,
        .describe = units_describe,
        .apply = units_apply,
        .undo = units_undo,
        .free_state = units_free,
};
