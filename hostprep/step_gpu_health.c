/* Health before give-back: journals, right after the group went to vfio-pci, a record
 * whose undo runs after QEMU is gone and before the vfio step gives any function back
 * (undo runs in reverse). The undo reads each function's config space and link; an
 * unhealthy one gets one reset (`reset`, with a deadline: a reset of a hung GPU can
 * block), and if it is still unhealthy, it and the other functions of its slot are
 * named in RUN_DIR/gpu-lost (hostprep/gpu_lost.h): the vfio step leaves them on
 * vfio-pci, everything else is restored, and the host needs a reboot for that GPU. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/deadline_write.h"
#include "hostprep/gpu_health.h"
#include "hostprep/gpu_lost.h"
#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "util/macro.h"
#include "vmdefs/vmdef.h"

struct health_state {
        char devices[1024]; /* the group's endpoints, comma-separated */
};

static void health_free(void *state)
{
        free(state);
}

static int health_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        if (!ctx->def->has_gpu)
                return 0;
        char addr[16];
        struct vl_error ignored;
        struct pci_group group;
        vmdef_pci_addr_format(&ctx->def->gpu_address, addr);
        if (pci_group_read(addr, &group, &ignored) < 0)
                return 0; /* the checks step reports it */
        struct health_state *s = calloc(1, sizeof(*s));
        if (!s) {
                pci_group_free(&group);
                return vl_error_set(err, ENOMEM, "gpu_health");
        }
        for (size_t i = 0; i < group.count; i++) {
                if (pci_is_bridge(&group.devices[i]))
                        continue;
                size_t len = strlen(s->devices);
                snprintf(s->devices + len, sizeof(s->devices) - len, "%s%s", len ? "," : "",
                         group.devices[i].addr);
        }
        pci_group_free(&group);
        if (!s->devices[0]) {
                free(s);
                return 0;
        }
        *state = s;
        return 0;
}

static int health_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct health_state *s = state;
        return plan_add(
                plan, "gpu_health",
                "after the VM, before any goes back to its driver: check that %s still answer (config space, link); a GPU that does not stays on vfio-pci",
                s->devices);
}

static int health_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct health_state *s = state;
        return step_journal(ctx, "check the GPU's health before giving it back",
                            (const char *const[]){"devices", s->devices, NULL}, err);
}

/* One reset through the kernel's reset_method list, bounded: a GPU that hangs the
 * reset leaves a stuck helper process behind, not a stuck vmlaunch. */
static void try_reset(struct hostprep_ctx *ctx, const char *addr, const char *why)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", addr);
        if (!sysroot_exists(path)) {
                step_log(ctx, LOG_WARNING, "%s is unhealthy (%s) and has no reset to try", addr,
                         why);
                return;
        }
        step_log(ctx, LOG_WARNING, "%s is unhealthy (%s): trying one reset", addr, why);
        struct vl_error err = {0};
        if (deadline_write(path, "1", ctx->timeout_ms, &err) < 0)
                step_log(ctx, LOG_WARNING, "%s: reset failed: %s", addr, err.msg);
}

static bool same_slot(const char *a, const char *b)
{
        return strlen(a) == 12 && strlen(b) == 12 && !strncmp(a, b, 10);
}

static int health_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                       struct vl_error *err)
{
        const char *devices = journal_record_get(rec, "devices");
        if (!devices)
                return vl_error_set(err, EINVAL, "gpu_health record without devices");
        struct vl_strv addrs = {0};
        int r = 0;
        for (const char *p = devices; r == 0 && *p;) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                char addr[PCI_ADDR_LEN];
                snprintf(addr, sizeof(addr), "%.*s", (int)(len < sizeof(addr) ? len : 0), p);
                if (!pci_addr_is_valid(addr))
                        r = vl_error_set(err, EINVAL, "gpu_health record: bad device list");
                else
                        r = vl_strv_push(&addrs, addr);
                p = end ? end + 1 : p + len;
        }
        struct hostprep_gpu_lost known = {0};
        bool stale;
        if (r == 0 && hostprep_gpu_lost_read(ctx->opts->run_dir, &known, &stale) < 0)
                known = (struct hostprep_gpu_lost){0};
        struct hostprep_gpu_lost_entry *lost = calloc(addrs.count + 1, sizeof(*lost));
        size_t n_lost = 0;
        if (r == 0 && !lost)
                r = vl_error_set(err, ENOMEM, "gpu_health");
        for (size_t i = 0; r == 0 && i < addrs.count; i++) {
                const char *addr = addrs.items[i];
                char why[160];
                /* lost earlier (a restore run again): never judged healthy again */
                if (hostprep_gpu_lost_find(&known, addr))
                        continue;
                if (gpu_health_check(addr, why, sizeof(why)))
                        continue;
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
                if (sysroot_exists(path)) {
                        try_reset(ctx, addr, why);
                        if (gpu_health_check(addr, why, sizeof(why))) {
                                step_log(ctx, LOG_NOTICE, "%s answers again after the reset", addr);
                                continue;
                        }
                }
                snprintf(lost[n_lost].addr, sizeof(lost[n_lost].addr), "%s", addr);
                snprintf(lost[n_lost].reason, sizeof(lost[n_lost].reason), "%s", why);
                n_lost++;
        }
        /* The other functions of a lost card (its HDMI audio, its USB) share its fate:
         * their drivers would touch the same hung device. */
        size_t n_dead = n_lost;
        for (size_t i = 0; r == 0 && i < addrs.count; i++) {
                const char *addr = addrs.items[i];
                bool listed = hostprep_gpu_lost_find(&known, addr) != NULL;
                for (size_t j = 0; j < n_lost && !listed; j++)
                        listed = streq(lost[j].addr, addr);
                for (size_t j = 0; j < n_dead && !listed; j++) {
                        if (!same_slot(lost[j].addr, addr))
                                continue;
                        struct hostprep_gpu_lost_entry *more =
                                realloc(lost, (n_lost + 1) * sizeof(*lost));
                        if (!more) {
                                r = vl_error_set(err, ENOMEM, "gpu_health");
                                break;
                        }
                        lost = more;
                        snprintf(lost[n_lost].addr, sizeof(lost[n_lost].addr), "%s", addr);
                        snprintf(lost[n_lost].reason, sizeof(lost[n_lost].reason),
                                 "on the same card as %s", lost[j].addr);
                        n_lost++;
                        listed = true;
                }
        }
        if (r == 0 && n_lost)
                r = hostprep_gpu_lost_add(ctx->opts->run_dir, lost, n_lost, err);
        for (size_t i = 0; r == 0 && i < n_lost; i++)
                step_log(
                        ctx, LOG_ERR,
                        "%s did not come back healthy after the VM (%s): it stays on vfio-pci; this GPU needs a host reboot",
                        lost[i].addr, lost[i].reason);
        free(lost);
        hostprep_gpu_lost_free(&known);
        vl_strv_free(&addrs);
        return r;
}

const struct hostprep_step step_gpu_health = {
        .name = "gpu_health",
        .inspect = health_inspect,
        .describe = health_describe,
        .apply = health_apply,
        .undo = health_undo,
        .free_state = health_free,
};
