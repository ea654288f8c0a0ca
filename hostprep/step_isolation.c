/* isolate_cpus: the host's own tasks (init.scope, system.slice, user.slice) are
 * confined to the emulator CPUs with systemd's AllowedCPUs (the cgroup v2 cpuset), so
 * the vCPUs' CPUs run nothing else; each slice's previous AllowedCPUs is journaled and
 * put back. QEMU itself runs in machine.slice (hostprep_qemu_scope), which stays
 * unrestricted, the layout libvirt uses. The settings are runtime-only: a reboot
 * clears them even without a restore. systemd keeps a runtime setting as a drop-in
 * under /run/systemd; one that was not there before the VM is removed after it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "util/macro.h"
#include "util/sort.h"
#include "vmdefs/vmdef.h"

static const char *const host_units[] = {"init.scope", "system.slice", "user.slice"};
#define N_HOST_UNITS (ELEMENTSOF(host_units))

struct isolation_state {
        char target[4096];            /* the emulator CPUs, e.g. "0,6" */
        char *previous[N_HOST_UNITS]; /* "" when unrestricted */
        char problem[1100];
};

static void isolation_free(void *state)
{
        struct isolation_state *s = state;
        for (size_t i = 0; i < N_HOST_UNITS; i++)
                free(s->previous[i]);
        free(s);
}

/* Where SetUnitProperties(runtime) leaves a property: slices in system.control,
 * scopes (init.scope) in transient. */
static const char *const dropin_dirs[] = {"/run/systemd/system.control", "/run/systemd/transient"};
#define DROPIN_FILE "50-AllowedCPUs.conf"

/* Cuts path at its last '/': "/a/b.d/f" -> "/a/b.d". */
static char *dirname_in_place(char *path)
{
        char *slash = strrchr(path, '/');
        if (slash)
                *slash = '\0';
        return path;
}

static int dropin_path(char *buf, size_t len, const char *dir, const char *unit)
{
        return sysroot_path(buf, len, "%s/%s.d/" DROPIN_FILE, dir, unit);
}

/* Which of the drop-in folders hold unit's AllowedCPUs now: "system.control,transient". */
static void dropins_present(const char *unit, char *buf, size_t len)
{
        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(dropin_dirs); i++) {
                char path[PATH_MAX];
                if (dropin_path(path, sizeof(path), dropin_dirs[i], unit) == 0 &&
                    access(path, F_OK) == 0) {
                        size_t used = strlen(buf);
                        snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                                 strrchr(dropin_dirs[i], '/') + 1);
                }
        }
}

/* Removes the drop-ins setting AllowedCPUs back left where there were none before:
 * systemd already runs with the value; the files would only outlive the VM. */
static void remove_new_dropins(const char *unit, const char *before)
{
        for (size_t i = 0; i < ELEMENTSOF(dropin_dirs); i++) {
                const char *name = strrchr(dropin_dirs[i], '/') + 1;
                char list[64];
                snprintf(list, sizeof(list), ",%s,", before);
                char item[64];
                snprintf(item, sizeof(item), ",%s,", name);
                char path[PATH_MAX];
                if (strstr(list, item) || dropin_path(path, sizeof(path), dropin_dirs[i], unit) < 0)
                        continue;
                if (unlink(path) == 0)
                        rmdir(dirname_in_place(path)); /* only when it is empty */
        }
}

static void format_emulator_cpus(const struct vm_def *def, char *buf, size_t len)
{
        unsigned cpus[512];
        size_t n = 0;
        for (size_t i = 0; i < def->emulator_pin.count && n < 512; i++)
                cpus[n++] = def->emulator_pin.cpus[i];
        qsort(cpus, n, sizeof(cpus[0]), vl_cmp_unsigned);
        vmdef_cpulist_format(cpus, n, buf, len);
}

/* systemd confines slices through the cgroup v2 cpuset controller. */
static bool cpuset_controller_available(void)
{
        char controllers[512];
        if (sysroot_read_line("/sys/fs/cgroup/cgroup.controllers", controllers,
                              sizeof(controllers)) < 0)
                return false;
        for (char *save = NULL, *w = strtok_r(controllers, " ", &save); w;
             w = strtok_r(NULL, " ", &save))
                if (streq(w, "cpuset"))
                        return true;
        return false;
}

static int isolation_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        const struct vm_def *def = ctx->def;
        if (!def->isolate_cpus)
                return 0;
        struct isolation_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "isolation");
        format_emulator_cpus(def, s->target, sizeof(s->target));
        if (!cpuset_controller_available())
                snprintf(
                        s->problem, sizeof(s->problem),
                        "isolate_cpus needs the cgroup v2 cpuset controller, which /sys/fs/cgroup/cgroup.controllers does not list; boot with the unified cgroup hierarchy (systemd.unified_cgroup_hierarchy=1) or set [host] isolate_cpus = no");
        else if (!ctx->units->get_allowed_cpus || !ctx->units->set_allowed_cpus)
                snprintf(
                        s->problem, sizeof(s->problem),
                        "isolate_cpus needs systemd to confine the host's slices; set [host] isolate_cpus = no");
        for (size_t i = 0; i < N_HOST_UNITS && !s->problem[0]; i++) {
                struct vl_error e = {0};
                if (ctx->units->get_allowed_cpus(ctx->units->userdata, host_units[i],
                                                 &s->previous[i], &e) < 0)
                        snprintf(s->problem, sizeof(s->problem), "isolate_cpus: %s", e.msg);
        }
        *state = s;
        return 0;
}

static const char *shown(const char *cpus)
{
        return *cpus ? cpus : "all";
}

static int isolation_describe(struct hostprep_ctx *ctx, const void *state,
                              struct hostprep_plan *plan)
{
        const struct isolation_state *s = state;
        if (s->problem[0])
                return plan_add(plan, "isolation", "cannot isolate: %s", s->problem);
        for (size_t i = 0; i < N_HOST_UNITS; i++)
                if (plan_add(plan, "isolation", "%s AllowedCPUs %s -> %s", host_units[i],
                             shown(s->previous[i]), s->target) < 0)
                        return -ENOMEM;
        return plan_add(
                plan, "isolation",
                "QEMU in vmlaunch-%s.scope under machine.slice, the only tasks left on the other CPUs",
                ctx->def->name);
}

static int isolation_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct isolation_state *s = state;
        if (s->problem[0])
                return vl_error_set(err, 0, "%s", s->problem);
        for (size_t i = 0; i < N_HOST_UNITS; i++) {
                char desc[128], dropins[64];
                snprintf(desc, sizeof(desc), "set AllowedCPUs of %s back to %s", host_units[i],
                         shown(s->previous[i]));
                dropins_present(host_units[i], dropins, sizeof(dropins));
                int r = step_journal(ctx, desc,
                                     (const char *const[]){"unit", host_units[i], "cpus",
                                                           s->previous[i], "dropins", dropins,
                                                           NULL},
                                     err);
                if (r == 0)
                        r = ctx->units->set_allowed_cpus(ctx->units->userdata, host_units[i],
                                                         s->target, err);
                if (r < 0)
                        return r;
                step_log(ctx, LOG_INFO, "%s AllowedCPUs %s -> %s", host_units[i],
                         shown(s->previous[i]), s->target);
        }
        return 0;
}

static int isolation_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                          struct vl_error *err)
{
        const char *unit = journal_record_get(rec, "unit");
        const char *cpus = journal_record_get(rec, "cpus");
        bool known = false;
        for (size_t i = 0; unit && i < N_HOST_UNITS; i++)
                known |= streq(unit, host_units[i]);
        if (!known || !cpus)
                return vl_error_set(err, EINVAL, "isolation record without a valid unit/cpus");
        if (!ctx->units->set_allowed_cpus)
                return vl_error_set(err, ENOTSUP, "no systemd to set AllowedCPUs of %s", unit);
        int r = ctx->units->set_allowed_cpus(ctx->units->userdata, unit, cpus, err);
        if (r < 0)
                return r;
        const char *dropins = journal_record_get(rec, "dropins");
        if (dropins) /* journals of older versions do not say */
                remove_new_dropins(unit, dropins);
        step_log(ctx, LOG_INFO, "%s AllowedCPUs back to %s", unit, shown(cpus));
        return 0;
}

static int isolation_problems(const void *state, struct vl_strv *out)
{
        const struct isolation_state *s = state;
        return s->problem[0] ? vl_strv_push(out, s->problem) : 0;
}

const struct hostprep_step step_isolation = {
        .name = "isolation",
        .inspect = isolation_inspect,
        .describe = isolation_describe,
        .apply = isolation_apply,
        .undo = isolation_undo,
        .free_state = isolation_free,
        .problems = isolation_problems,
};
