/* Checks that can fail, run before anything changes: the GPU's IOMMU group holds no
 * device the host needs (a storage controller, the boot disk's controller), matches
 * [gpu] group when given, and no process outside the units we stop holds the GPU. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostprep/holders.h"
#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "util/cleanup.h"
#include "vmdefs/vmdef.h"

struct checks_state {
        struct vl_strv lines;    /* plan lines */
        struct vl_strv problems; /* what makes prepare fail */
};

/* PCI addresses on the path of the block device mounted on / (its controller and the
 * bridges above it), from /proc/self/mountinfo and /sys/dev/block/MAJ:MIN. */
static int boot_disk_path(char *buf, size_t len)
{
        buf[0] = '\0';
        char *info = NULL;
        if (sysroot_read_file("/proc/self/mountinfo", &info) < 0)
                return 0;
        char majmin[32] = "";
        for (char *line = strtok(info, "\n"); line; line = strtok(NULL, "\n")) {
                char dev[32], mnt[PATH_MAX];
                if (sscanf(line, "%*s %*s %31s %*s %4095s", dev, mnt) == 2 && !strcmp(mnt, "/")) {
                        snprintf(majmin, sizeof(majmin), "%s", dev);
                        break;
                }
        }
        free(info);
        if (!majmin[0])
                return 0;
        char link[PATH_MAX];
        if (sysroot_path(link, sizeof(link), "/sys/dev/block/%s", majmin) < 0)
                return 0;
        ssize_t n = readlink(link, buf, len - 1);
        buf[n > 0 ? n : 0] = '\0'; /* 0:NN (btrfs, overlay) has no block device: no path */
        return 0;
}

static bool path_has_device(const char *path, const char *addr)
{
        for (const char *p = strstr(path, addr); p; p = strstr(p + 1, addr))
                if ((p == path || p[-1] == '/') && (p[12] == '/' || p[12] == '\0'))
                        return true;
        return false;
}

static int check_group(const struct vm_def *def, const struct pci_group *g, struct checks_state *s)
{
        char boot_path[PATH_MAX];
        boot_disk_path(boot_path, sizeof(boot_path));
        int r = 0;
        for (size_t i = 0; i < g->count && r == 0; i++) {
                const struct pci_device *dev = &g->devices[i];
                if (pci_is_bridge(dev))
                        continue;
                if (pci_is_storage(dev) || (boot_path[0] && path_has_device(boot_path, dev->addr)))
                        r = vl_strv_pushf(
                                &s->problems,
                                "%s (%s, class 0x%04x) is in the GPU's IOMMU group %s; the host needs it (%s), so the group cannot be passed through: move the GPU to another slot or check the firmware's IOMMU/ACS settings",
                                dev->addr, pci_class_name(dev->class_code), dev->class_code >> 8,
                                g->id,
                                pci_is_storage(dev) ? "a storage controller may hold the boot disk"
                                                    : "the root file system is on it");
        }
        for (size_t i = 0; i < def->n_gpu_group && r == 0; i++) {
                char addr[16];
                bool found = false;
                vmdef_pci_addr_format(&def->gpu_group[i], addr);
                for (size_t j = 0; j < g->count; j++)
                        found |= !strcmp(g->devices[j].addr, addr);
                if (!found)
                        r = vl_strv_pushf(
                                &s->problems,
                                "[gpu] group lists %s but the host's IOMMU group %s does not contain it; fix [gpu] group (the host's group is what gets passed through)",
                                addr, g->id);
        }
        if (def->n_gpu_group && r == 0)
                for (size_t j = 0; j < g->count && r == 0; j++) {
                        bool listed = pci_is_bridge(&g->devices[j]);
                        for (size_t i = 0; i < def->n_gpu_group && !listed; i++) {
                                char addr[16];
                                vmdef_pci_addr_format(&def->gpu_group[i], addr);
                                listed = !strcmp(g->devices[j].addr, addr);
                        }
                        if (!listed)
                                r = vl_strv_pushf(
                                        &s->problems,
                                        "the host's IOMMU group %s also contains %s, which [gpu] group does not list; add it",
                                        g->id, g->devices[j].addr);
                }
        return r;
}

static bool unit_is_stopped(struct hostprep_ctx *ctx, const char *unit)
{
        const struct vm_def *def = ctx->def;
        for (size_t i = 0; i < def->n_stop_units; i++) {
                if (!strcmp(def->stop_units[i], unit))
                        return true;
                enum hostprep_unit_state st;
                char *id = NULL;
                struct vl_error ignored;
                bool same = ctx->units->query(ctx->units->userdata, def->stop_units[i], &st, &id,
                                              &ignored) == 0 &&
                            id && !strcmp(id, unit);
                free(id);
                if (same)
                        return true;
        }
        return false;
}

/* The user's graphical session as logind knows it ("" when none or not known). */
static void user_display_session(struct hostprep_ctx *ctx, int uid, char *session, size_t len)
{
        session[0] = '\0';
        char *id = NULL;
        if (ctx->units->display_session &&
            ctx->units->display_session(ctx->units->userdata, uid, &id) >= 0 && id)
                snprintf(session, len, "%s", id);
        free(id);
}

/* True when a login session of uid was started by a unit vmlaunch stops. */
static bool user_session_ends_with_stop(struct hostprep_ctx *ctx, int uid)
{
        struct vl_strv starters;
        if (holders_user_session_starters(uid, &starters) < 0)
                return false;
        bool ends = false;
        for (size_t i = 0; i < starters.count && !ends; i++)
                ends = unit_is_stopped(ctx, starters.items[i]);
        vl_strv_free(&starters);
        return ends;
}

/* "session-12.scope" -> the length of "12" */
static int session_id_len(const char *scope)
{
        const char *dot = strrchr(scope, '.');
        return dot && dot > scope + 8 ? (int)(dot - scope - 8) : (int)strlen(scope + 8);
}

static int check_holders(struct hostprep_ctx *ctx, const struct pci_group *g,
                         struct checks_state *s)
{
        struct gpu_holder *holders = NULL;
        size_t n = 0;
        int r = holders_scan(g, &holders, &n);
        for (size_t i = 0; i < n && r == 0; i++) {
                const struct gpu_holder *h = &holders[i];
                /* a unit of a user's own systemd: the compositor of a desktop session
                 * the display manager started (GNOME's gnome-shell) ends with that
                 * session; the user's audio server outlives it */
                if (h->user_manager_uid >= 0 && strncmp(h->node, "/dev/snd/", 9) != 0 &&
                    user_session_ends_with_stop(ctx, h->user_manager_uid))
                        continue;
                if (h->user_manager_uid >= 0) {
                        char session[64];
                        user_display_session(ctx, h->user_manager_uid, session, sizeof(session));
                        r = vl_strv_pushf(
                                &s->problems,
                                "process %d (%s) of user %d's %s holds %s: stop it (`systemctl --user stop %s` as user %d) or log out of that user's desktop%s%s%s before starting the VM",
                                h->pid, h->comm, h->user_manager_uid, h->unit, h->node, h->unit,
                                h->user_manager_uid,
                                session[0] ? " (`loginctl terminate-session " : "", session,
                                session[0] ? "`)" : "");
                        continue;
                }
                /* these end with the units vmlaunch stops; prepare waits for them */
                if (h->unit[0] && unit_is_stopped(ctx, h->unit))
                        continue;
                if (h->session_started_by[0] && unit_is_stopped(ctx, h->session_started_by))
                        continue;
                if (!strncmp(h->unit, "session-", 8))
                        r = vl_strv_pushf(
                                &s->problems,
                                "process %d (%s) of login session %.*s holds %s: close it or end that session (`loginctl terminate-session %.*s`) before starting the VM",
                                h->pid, h->comm, session_id_len(h->unit), h->unit + 8, h->node,
                                session_id_len(h->unit), h->unit + 8);
                else if (h->unit[0] && strstr(h->unit, ".service"))
                        r = vl_strv_pushf(
                                &s->problems,
                                "process %d (%s) of %s holds %s: stop it (`systemctl stop %s`) or add it to [host] stop_units",
                                h->pid, h->comm, h->unit, h->node, h->unit);
                else
                        r = vl_strv_pushf(
                                &s->problems,
                                "process %d (%s)%s%s holds %s: close it before starting the VM",
                                h->pid, h->comm, h->unit[0] ? " in " : "", h->unit, h->node);
        }
        free(holders);
        return r;
}

static void checks_free(void *state)
{
        struct checks_state *s = state;
        vl_strv_free(&s->lines);
        vl_strv_free(&s->problems);
        free(s);
}

static int checks_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        const struct vm_def *def = ctx->def;
        if (!def->has_gpu)
                return 0;
        struct checks_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "checks");
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        struct pci_group g;
        struct vl_error group_err = {0};
        int r = 0;
        if (pci_group_read(addr, &g, &group_err) < 0) {
                r = vl_strv_push(&s->problems, group_err.msg);
        } else {
                _cleanup_free_ char *line = NULL;
                size_t len = 0;
                FILE *mem = open_memstream(&line, &len);
                for (size_t i = 0; mem && i < g.count; i++)
                        fprintf(mem, "%s%s (%s%s%s)", i ? ", " : "", g.devices[i].addr,
                                pci_class_name(g.devices[i].class_code),
                                g.devices[i].driver[0] ? ", " : "", g.devices[i].driver);
                if (!mem || fclose(mem) != 0)
                        r = -ENOMEM;
                else
                        r = vl_strv_pushf(&s->lines, "IOMMU group %s: %s", g.id, line);
                if (r == 0)
                        r = check_group(def, &g, s);
                if (r == 0)
                        r = check_holders(ctx, &g, s);
                pci_group_free(&g);
        }
        if (r < 0) {
                checks_free(s);
                return vl_error_set(err, -r, "checks");
        }
        *state = s;
        return 0;
}

static int checks_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct checks_state *s = state;
        for (size_t i = 0; i < s->lines.count; i++)
                if (plan_add(plan, "checks", "%s", s->lines.items[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->problems.count; i++)
                if (plan_add(plan, "checks", "will fail: %s", s->problems.items[i]) < 0)
                        return -ENOMEM;
        if (s->problems.count == 0 &&
            plan_add(plan, "checks",
                     "no device the host needs in the group, nobody else holds the GPU") < 0)
                return -ENOMEM;
        return 0;
}

static int checks_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        (void)ctx;
        const struct checks_state *s = state;
        if (s->problems.count == 0)
                return 0;
        if (s->problems.count == 1)
                return vl_error_set(err, 0, "%s", s->problems.items[0]);
        return vl_error_set(err, 0, "%s (and %zu more problem(s); see `vmlaunch check`)",
                            s->problems.items[0], s->problems.count - 1);
}

static int checks_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                       struct vl_error *err)
{
        (void)ctx;
        (void)rec;
        (void)err;
        return 0; /* checks change nothing */
}

static int checks_problems(const void *state, struct vl_strv *out)
{
        const struct checks_state *s = state;
        for (size_t i = 0; i < s->problems.count; i++)
                if (vl_strv_push(out, s->problems.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

const struct hostprep_step step_checks = {
        .name = "checks",
        .inspect = checks_inspect,
        .describe = checks_describe,
        .apply = checks_apply,
        .undo = checks_undo,
        .free_state = checks_free,
        .problems = checks_problems,
};
