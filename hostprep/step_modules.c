/* Unload the kernel modules that drive the GPU's group, holders first (nvidia_drm,
 * nvidia_modeset, nvidia_uvm before nvidia); reload exactly those, in reverse, on
 * restore. Default: the modules of the drivers bound to the group, unless a driver
 * also drives a device outside the group (snd_hda_intel for the onboard audio, xhci
 * for the other USB ports): then only the group's devices are unbound, by the vfio
 * step. [host] unload_modules = LIST overrides. A module in use fails the step before
 * anything is unloaded, naming the processes that hold the GPU. A reloaded driver
 * probes every device without a driver: those that had none before the run (unbound
 * by hand) are unbound again, so restore gives back no binding that was not there. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "hostprep/deadline_write.h"
#include "hostprep/holders.h"
#include "hostprep/gpu_lost.h"
#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "vmdefs/vmdef.h"
#include "util/cleanup.h"
#include "util/macro.h"

struct modules_state {
        struct vl_strv order;   /* to unload, holders before what they hold */
        struct vl_strv devices; /* parallel to order: "ADDR/driver,..." bound through it */
        struct vl_strv notes;   /* plan lines about modules kept loaded */
        struct pci_group group; /* for naming holders when a module is in use */
};

static bool module_loaded(const char *module)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/module/%s", module);
        return sysroot_exists(path);
}

/* Post-order over /sys/module/M/holders: every holder is queued before M. */
static int queue_with_holders(const char *module, struct vl_strv *order, unsigned depth)
{
        if (vl_strv_contains(order, module) || depth > 32)
                return 0;
        char dir[PATH_MAX];
        struct vl_strv holders;
        snprintf(dir, sizeof(dir), "/sys/module/%s/holders", module);
        int r = 0;
        if (sysroot_list_dir(dir, &holders) == 0) {
                for (size_t i = 0; i < holders.count && r == 0; i++)
                        r = queue_with_holders(holders.items[i], order, depth + 1);
                vl_strv_free(&holders);
        }
        return r < 0 ? r : vl_strv_push(order, module);
}

static void modules_free(void *state)
{
        struct modules_state *s = state;
        vl_strv_free(&s->order);
        vl_strv_free(&s->devices);
        vl_strv_free(&s->notes);
        pci_group_free(&s->group);
        free(s);
}

/* The group's devices bound through module, as "ADDR/driver,ADDR/driver". */
static int bound_devices(const struct pci_group *g, const char *module, char *buf, size_t len)
{
        buf[0] = '\0';
        for (size_t i = 0; i < g->count; i++) {
                const struct pci_device *d = &g->devices[i];
                if (streq(d->module, module)) {
                        size_t used = strlen(buf);
                        int n = snprintf(buf + used, len - used, "%s%s/%s", used ? "," : "",
                                         d->addr, d->driver);
                        if (n < 0 || (size_t)n >= len - used)
                                return -ENAMETOOLONG;
                }
        }
        return 0;
}

static int auto_roots(struct modules_state *s, struct vl_strv *roots)
{
        int r = 0;
        const struct pci_group *g = &s->group;
        for (size_t i = 0; i < g->count && r == 0; i++) {
                const struct pci_device *d = &g->devices[i];
                if (pci_is_bridge(d) || !d->module[0] || streq(d->driver, "vfio-pci") ||
                    vl_strv_contains(roots, d->module))
                        continue;
                char **addrs = NULL;
                size_t n = 0;
                r = pci_driver_devices(d->driver, &addrs, &n);
                const char *outside = NULL;
                for (size_t j = 0; j < n && !outside; j++) {
                        bool in_group = false;
                        for (size_t k = 0; k < g->count; k++)
                                in_group |= streq(g->devices[k].addr, addrs[j]);
                        if (!in_group)
                                outside = addrs[j];
                }
                if (r == 0 && outside)
                        r = vl_strv_pushf(
                                &s->notes,
                                "keep module %s loaded: driver %s also drives %s, outside the group (only the group's devices are unbound)",
                                d->module, d->driver, outside);
                else if (r == 0)
                        r = vl_strv_push(roots, d->module);
                pci_addrs_free(addrs, n);
        }
        return r;
}

static int modules_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        const struct vm_def *def = ctx->def;
        if (def->modules_mode == VMDEF_MODULES_OFF ||
            (def->modules_mode == VMDEF_MODULES_AUTO && !def->has_gpu))
                return 0;
        struct modules_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "modules");
        struct vl_strv roots = {0};
        int r = 0;
        if (def->has_gpu) {
                char addr[16];
                struct vl_error ignored;
                vmdef_pci_addr_format(&def->gpu_address, addr);
                if (pci_group_read(addr, &s->group, &ignored) < 0) {
                        modules_free(s); /* the checks step reports it */
                        return 0;
                }
        }
        if (def->modules_mode == VMDEF_MODULES_LIST) {
                for (size_t i = 0; i < def->n_unload_modules && r == 0; i++)
                        r = module_loaded(def->unload_modules[i])
                                    ? vl_strv_push(&roots, def->unload_modules[i])
                                    : vl_strv_pushf(&s->notes, "module %s is not loaded",
                                                    def->unload_modules[i]);
        } else {
                r = auto_roots(s, &roots);
        }
        for (size_t i = 0; i < roots.count && r == 0; i++)
                r = queue_with_holders(roots.items[i], &s->order, 0);
        vl_strv_free(&roots);
        for (size_t i = 0; i < s->order.count && r == 0; i++) {
                char devs[1024];
                r = bound_devices(&s->group, s->order.items[i], devs, sizeof(devs));
                if (r == 0)
                        r = vl_strv_push(&s->devices, devs);
        }
        if (r < 0 || (s->order.count == 0 && s->notes.count == 0)) {
                modules_free(s);
                return r < 0 ? vl_error_set(err, -r, "modules") : 0;
        }
        *state = s;
        return 0;
}

static int modules_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct modules_state *s = state;
        for (size_t i = 0; i < s->notes.count; i++)
                if (plan_add(plan, "modules", "%s", s->notes.items[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->order.count; i++)
                if (plan_add(plan, "modules", "unload module %s", s->order.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int read_int(const char *path, long *out)
{
        char line[32];
        int r = sysroot_read_line(path, line, sizeof(line));
        if (r < 0)
                return r;
        *out = strtol(line, NULL, 10);
        return 0;
}

/* A module is in use when references remain beyond those of its holder modules
 * (which are unloaded before it): open device files, a running process. */
static int fail_if_in_use(const struct modules_state *s, struct vl_error *err)
{
        for (size_t i = 0; i < s->order.count; i++) {
                const char *m = s->order.items[i];
                char path[PATH_MAX];
                long refcnt = 0;
                struct vl_strv holders = {0};
                snprintf(path, sizeof(path), "/sys/module/%s/refcnt", m);
                if (read_int(path, &refcnt) < 0)
                        continue; /* built in or gone */
                snprintf(path, sizeof(path), "/sys/module/%s/holders", m);
                sysroot_list_dir(path, &holders);
                long held_by_modules = (long)holders.count;
                vl_strv_free(&holders);
                if (refcnt <= held_by_modules)
                        continue;
                struct gpu_holder *procs = NULL;
                size_t n = 0;
                char who[768] = "";
                if (holders_scan(&s->group, &procs, &n) == 0)
                        for (size_t j = 0; j < n; j++) {
                                size_t used = strlen(who);
                                snprintf(who + used, sizeof(who) - used, "%s%d (%s%s%s) holds %s",
                                         j ? "; " : ": ", procs[j].pid, procs[j].comm,
                                         procs[j].unit[0] ? ", " : "", procs[j].unit,
                                         procs[j].node);
                        }
                free(procs);
                return vl_error_set(
                        err, EBUSY,
                        "module %s is in use (%ld references, %ld from other modules)%s; stop what uses the GPU, nothing was unloaded",
                        m, refcnt, held_by_modules,
                        who[0] ? who : ": no process has a GPU node open (a kernel user?)");
        }
        return 0;
}

/* Journal fields "param.NAME", VALUE for each parameter of module that can be written at
 * run time: a value someone set through sysfs would be lost on reload (modprobe.d and
 * kernel command line options are applied again by the load itself). */
static int writable_params(const char *module, struct vl_strv *fields)
{
        char dir[PATH_MAX], path[PATH_MAX], value[256];
        struct vl_strv names;
        snprintf(dir, sizeof(dir), "/sys/module/%s/parameters", module);
        if (sysroot_list_dir(dir, &names) < 0)
                return 0; /* a module without parameters */
        int r = 0;
        for (size_t i = 0; i < names.count && r == 0; i++) {
                struct stat st;
                char file[PATH_MAX], key[PATH_MAX];
                if (snprintf(file, sizeof(file), "%s/%s", dir, names.items[i]) >=
                            (int)sizeof(file) ||
                    snprintf(key, sizeof(key), "param.%s", names.items[i]) >= (int)sizeof(key))
                        continue;
                if (sysroot_path(path, sizeof(path), "%s", file) < 0 || stat(path, &st) < 0 ||
                    !(st.st_mode & S_IWUSR) || sysroot_read_line(file, value, sizeof(value)) < 0)
                        continue;
                r = vl_strv_push(fields, key);
                if (r == 0)
                        r = vl_strv_push(fields, value);
        }
        vl_strv_free(&names);
        return r;
}

/* The PCI devices without a driver, "ADDR,ADDR" (malloc'd, "" for none): a driver
 * module loaded on restore probes every device without a driver, and these must stay
 * without one. Read before this step unbinds anything. */
static int unbound_devices(char **out)
{
        struct vl_strv addrs = {0};
        *out = NULL;
        int r = sysroot_list_dir("/sys/bus/pci/devices", &addrs);
        if (r < 0 && r != -ENOENT) /* no PCI bus: none */
                return r;
        size_t len = 1;
        for (size_t i = 0; i < addrs.count; i++)
                len += strlen(addrs.items[i]) + 1;
        char *list = calloc(1, len);
        for (size_t i = 0; list && i < addrs.count; i++) {
                char now[PCI_NAME_LEN];
                if (!pci_addr_is_valid(addrs.items[i]) ||
                    pci_current_driver(addrs.items[i], now, sizeof(now)) < 0 || now[0])
                        continue;
                if (list[0])
                        strcat(list, ",");
                strcat(list, addrs.items[i]);
        }
        vl_strv_free(&addrs);
        if (!list)
                return -ENOMEM;
        *out = list;
        return 0;
}

static int modules_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct modules_state *s = state;
        int r = fail_if_in_use(s, err);
        _cleanup_free_ char *unbound = NULL;
        if (r == 0 && s->order.count) {
                r = unbound_devices(&unbound);
                if (r < 0)
                        return vl_error_set(err, -r, "list the PCI devices without a driver");
        }
        for (size_t i = 0; i < s->order.count && r == 0; i++) {
                const char *m = s->order.items[i];
                if (!module_loaded(m))
                        continue;
                char desc[128];
                snprintf(desc, sizeof(desc), "load module %s", m);
                struct vl_strv fields = {0};
                r = vl_strv_push(&fields, "module");
                if (r == 0)
                        r = vl_strv_push(&fields, m);
                if (r == 0)
                        r = vl_strv_push(&fields, "devices");
                if (r == 0)
                        r = vl_strv_push(&fields, s->devices.items[i]);
                if (r == 0 && unbound[0])
                        r = vl_strv_push(&fields, "unbound");
                if (r == 0 && unbound[0])
                        r = vl_strv_push(&fields, unbound);
                if (r == 0)
                        r = writable_params(m, &fields); /* fields.items ends with NULL */
                if (r < 0) {
                        vl_strv_free(&fields);
                        return vl_error_set(err, ENOMEM, "journal module %s", m);
                }
                r = step_journal(ctx, desc, (const char *const *)fields.items, err);
                vl_strv_free(&fields);
                if (r == 0)
                        r = ctx->modules->remove(ctx->modules->userdata, m, ctx->timeout_ms, err);
                if (r == 0)
                        step_log(ctx, LOG_INFO, "unloaded module %s", m);
        }
        return r;
}

/* After loading a driver module the kernel probes its devices during init, so the
 * devices it drove before must be bound again by now. back: "0000:06:00.0 back on
 * nvidia, ..." for the log. */
static int check_rebound(const char *module, const char *devices,
                         const struct hostprep_gpu_lost *lost, char *back, size_t back_len,
                         struct vl_error *err)
{
        back[0] = '\0';
        char list[1024];
        snprintf(list, sizeof(list), "%s", devices);
        char *save = NULL;
        for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                char *slash = strchr(item, '/');
                if (!slash)
                        continue;
                *slash = '\0';
                char now[PCI_NAME_LEN];
                if (!pci_addr_is_valid(item) || pci_current_driver(item, now, sizeof(now)) < 0)
                        continue;
                /* a GPU that did not come back healthy stays on vfio-pci (step_gpu_health) */
                if (hostprep_gpu_lost_find(lost, item))
                        continue;
                if (!streq(now, slash + 1))
                        return vl_error_set(
                                err, EIO,
                                "loaded module %s but %s is %s%s instead of on %s; try `echo %s > /sys/bus/pci/drivers_probe`",
                                module, item, now[0] ? "on " : "unbound", now, slash + 1, item);
                size_t used = strlen(back);
                snprintf(back + used, back_len - used, "%s%s back on %s", used ? ", " : "", item,
                         now);
        }
        return 0;
}

/* The run-time parameters the module had before it was unloaded, written back where the
 * reload gave another value. */
static void restore_params(struct hostprep_ctx *ctx, const char *module,
                           const struct journal_record *rec)
{
        for (size_t i = 0; i < rec->n_fields; i++) {
                const char *name = rec->fields[i].key;
                if (strncmp(name, "param.", 6) || !name[6] || strchr(name + 6, '/'))
                        continue;
                name += 6;
                char file[PATH_MAX], now[256];
                snprintf(file, sizeof(file), "/sys/module/%s/parameters/%s", module, name);
                if (sysroot_read_line(file, now, sizeof(now)) == 0 &&
                    streq(now, rec->fields[i].value))
                        continue;
                /* The module and its devices are back either way: a parameter the kernel
                 * will not take again is said, not a reason to keep the journal forever. */
                struct vl_error werr = {0};
                if (sysroot_write(file, rec->fields[i].value, &werr) < 0)
                        step_log(
                                ctx, LOG_WARNING,
                                "module %s: could not set parameter %s back to %s (%s); set it by hand",
                                module, name, rec->fields[i].value, werr.msg);
                else
                        step_log(ctx, LOG_INFO, "module %s: parameter %s back to %s", module, name,
                                 rec->fields[i].value);
        }
}

/* Unbinds again the devices of unbound ("ADDR,ADDR": without a driver before the run)
 * that loading module bound: its drivers probe every device without one. */
static int unbind_again(struct hostprep_ctx *ctx, const char *module, const char *unbound,
                        struct vl_error *err)
{
        _cleanup_free_ char *list = strdup(unbound);
        if (!list)
                return vl_error_set(err, ENOMEM, "module %s", module);
        char *save = NULL;
        for (char *addr = strtok_r(list, ",", &save); addr; addr = strtok_r(NULL, ",", &save)) {
                char now[PCI_NAME_LEN], owner[PCI_NAME_LEN], path[PATH_MAX];
                if (!pci_addr_is_valid(addr) || pci_current_driver(addr, now, sizeof(now)) < 0 ||
                    !now[0] || strchr(now, '/') ||
                    pci_driver_module(now, owner, sizeof(owner)) < 0 || !streq(owner, module))
                        continue;
                snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", now);
                int r = deadline_write(path, addr, ctx->timeout_ms, err);
                if (r < 0)
                        return vl_error_prefix(err, "loaded module %s, which bound %s: unbind it",
                                               module, addr);
                step_log(ctx, LOG_INFO, "%s %s -> no driver, as before (loading %s bound it)", addr,
                         now, module);
        }
        return 0;
}

static int modules_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                        struct vl_error *err)
{
        const char *m = journal_record_get(rec, "module");
        const char *devices = journal_record_get(rec, "devices");
        if (!m || !*m || strchr(m, '/'))
                return vl_error_set(err, EINVAL, "modules record without a valid module");
        bool loaded = false;
        if (!module_loaded(m)) {
                int r = ctx->modules->insert(ctx->modules->userdata, m, err);
                if (r < 0)
                        return r;
                loaded = true;
        }
        const char *unbound = journal_record_get(rec, "unbound");
        if (unbound) {
                int r = unbind_again(ctx, m, unbound, err);
                if (r < 0)
                        return r;
        }
        restore_params(ctx, m, rec);
        char back[1024];
        struct hostprep_gpu_lost lost = {0};
        bool stale;
        if (hostprep_gpu_lost_read(ctx->opts->run_dir, &lost, &stale) < 0)
                lost = (struct hostprep_gpu_lost){0};
        int r = check_rebound(m, devices ? devices : "", &lost, back, sizeof(back), err);
        hostprep_gpu_lost_free(&lost);
        if (r == 0 && loaded)
                step_log(ctx, LOG_INFO, "loaded module %s%s%s", m, back[0] ? ": " : "", back);
        else if (loaded) /* the module is back even though a device is not */
                step_log(ctx, LOG_INFO, "loaded module %s", m);
        return r;
}

const struct hostprep_step step_modules = {
        .name = "modules",
        .inspect = modules_inspect,
        .describe = modules_describe,
        .apply = modules_apply,
        .undo = modules_undo,
        .free_state = modules_free,
};
