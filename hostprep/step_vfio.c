/* Bind every endpoint of the GPU's IOMMU group to vfio-pci (driver_override, unbind,
 * drivers_probe, wait for the driver link), loading vfio_pci/vfio_iommu_type1 when
 * needed. On restore: clear driver_override, unbind from vfio-pci, reprobe, check the
 * device is back on its original driver; unload the vfio modules only if this run
 * loaded them and nothing uses them any more (vfio_pci stays while a device is bound
 * to it: one bound before the run, or another VM's), together with the dependencies
 * loading them brought in (vfio, vfio_pci_core, vfio_virqfd, irqbypass): those that
 * were not loaded before and are unused. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "hostprep/deadline_write.h"
#include "hostprep/gpu_lost.h"
#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "vmdefs/vmdef.h"
#include "util/poll_extra.h"
#include "util/clock.h"
#include "util/macro.h"

#define VFIO_DRIVER    "vfio-pci"
#define DRIVER_POLL_MS 10

static const char *const vfio_modules[] = {"vfio_iommu_type1", "vfio_pci"}; /* load order */

struct vfio_state {
        struct pci_group group; /* endpoints not on vfio-pci yet (bridges left out) */
        struct vl_strv to_load; /* vfio modules not loaded yet */
};

static bool module_loaded(const char *module)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/module/%s", module);
        return sysroot_exists(path);
}

/* Loadable modules only: built-in ones have a /sys/module entry without refcnt. */
static bool module_loadable_loaded(const char *module)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/sys/module/%s/refcnt", module);
        return sysroot_exists(path);
}

/* The loaded modules, comma-separated, for the journal: after a restore, a
 * dependency of vfio_pci is unloaded only if it is not in this list. */
static int loaded_modules_list(char **out)
{
        struct vl_strv all = {0};
        *out = NULL;
        int r = sysroot_list_dir("/sys/module", &all);
        if (r < 0)
                return r;
        size_t len = 1;
        for (size_t i = 0; i < all.count; i++)
                len += strlen(all.items[i]) + 1;
        char *list = calloc(1, len);
        for (size_t i = 0; list && i < all.count; i++) {
                if (!module_loadable_loaded(all.items[i]))
                        continue;
                if (list[0])
                        strcat(list, ",");
                strcat(list, all.items[i]);
        }
        vl_strv_free(&all);
        if (!list)
                return -ENOMEM;
        *out = list;
        return 0;
}

static bool in_comma_list(const char *list, const char *name)
{
        size_t n = strlen(name);
        for (const char *p = list; p && *p;) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t)(end - p) : strlen(p);
                if (len == n && !strncmp(p, name, n))
                        return true;
                p = end ? end + 1 : NULL;
        }
        return false;
}

static void vfio_free(void *state)
{
        struct vfio_state *s = state;
        pci_group_free(&s->group);
        vl_strv_free(&s->to_load);
        free(s);
}

static int vfio_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        if (!ctx->def->has_gpu)
                return 0;
        struct vfio_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "vfio");
        char addr[16];
        struct vl_error ignored;
        vmdef_pci_addr_format(&ctx->def->gpu_address, addr);
        if (pci_group_read(addr, &s->group, &ignored) < 0) {
                vfio_free(s); /* the checks step reports it */
                return 0;
        }
        size_t kept = 0;
        for (size_t i = 0; i < s->group.count; i++) {
                const struct pci_device *d = &s->group.devices[i];
                if (!pci_is_bridge(d) && !streq(d->driver, VFIO_DRIVER))
                        s->group.devices[kept++] = *d;
        }
        s->group.count = kept;
        int r = 0;
        for (size_t i = 0; i < 2 && r == 0 && kept; i++)
                if (!module_loaded(vfio_modules[i]))
                        r = vl_strv_push(&s->to_load, vfio_modules[i]);
        if (r < 0 || kept == 0) {
                vfio_free(s);
                return r < 0 ? vl_error_set(err, -r, "vfio") : 0;
        }
        *state = s;
        return 0;
}

static int vfio_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct vfio_state *s = state;
        for (size_t i = 0; i < s->to_load.count; i++)
                if (plan_add(plan, "vfio", "load module %s", s->to_load.items[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->group.count; i++) {
                const struct pci_device *d = &s->group.devices[i];
                if (plan_add(plan, "vfio", "%s %s -> " VFIO_DRIVER, d->addr,
                             d->driver[0] ? d->driver : "(no driver)") < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Waits until addr is bound to driver. sysfs sends no event for a driver link
 * (inotify does not see sysfs symlinks appear and uevents need a netlink listener
 * racing the probe), so this re-checks with short poll() timeouts up to a deadline. */
static int wait_for_driver(const char *addr, const char *driver, unsigned timeout_ms,
                           struct vl_error *err)
{
        long long deadline = vl_monotonic_ms() + timeout_ms;
        char now[PCI_NAME_LEN] = "";
        for (;;) {
                if (pci_current_driver(addr, now, sizeof(now)) == 0 && streq(now, driver))
                        return 0;
                if (vl_monotonic_ms() >= deadline)
                        break;
                vl_poll(NULL, 0, DRIVER_POLL_MS);
        }
        return vl_error_set(err, ETIMEDOUT, "%s did not bind to %s within %u ms (now %s)", addr,
                            driver, timeout_ms, now[0] ? now : "unbound");
}

static int pci_write(struct hostprep_ctx *ctx, const char *path, const char *value,
                     struct vl_error *err)
{
        return deadline_write(path, value, ctx->timeout_ms, err);
}

static int unbind_current(struct hostprep_ctx *ctx, const char *addr, struct vl_error *err)
{
        char now[PCI_NAME_LEN], path[PATH_MAX];
        if (pci_current_driver(addr, now, sizeof(now)) < 0 || !now[0])
                return 0;
        snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", now);
        return pci_write(ctx, path, addr, err);
}

static int bind_to_vfio(struct hostprep_ctx *ctx, const struct pci_device *d, struct vl_error *err)
{
        char path[PATH_MAX], desc[256];
        snprintf(desc, sizeof(desc), "give %s back to %s", d->addr,
                 d->driver[0] ? d->driver : "no driver");
        int r = step_journal(ctx, desc,
                             (const char *const[]){"device", d->addr, "driver", d->driver,
                                                   "override", d->override, NULL},
                             err);
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", d->addr);
        if (r == 0)
                r = pci_write(ctx, path, VFIO_DRIVER, err);
        if (r == 0)
                r = unbind_current(ctx, d->addr, err);
        if (r == 0)
                r = pci_write(ctx, "/sys/bus/pci/drivers_probe", d->addr, err);
        if (r == 0)
                r = wait_for_driver(d->addr, VFIO_DRIVER, ctx->timeout_ms, err);
        if (r < 0)
                return vl_error_prefix(err, "%s -> " VFIO_DRIVER, d->addr);
        step_log(ctx, LOG_INFO, "%s %s -> " VFIO_DRIVER, d->addr,
                 d->driver[0] ? d->driver : "(no driver)");
        return 0;
}

static int vfio_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct vfio_state *s = state;
        int r = 0;
        if (s->to_load.count) {
                char list[128] = "";
                for (size_t i = 0; i < s->to_load.count; i++)
                        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                                 i ? "," : "", s->to_load.items[i]);
                /* Loading vfio_pci brings in its dependencies: what was loaded before
                 * tells restore which of them to leave alone. */
                char *present = NULL;
                r = loaded_modules_list(&present);
                if (r < 0)
                        return vl_error_set(err, -r, "list the loaded modules (/sys/module)");
                r = step_journal(ctx, "unload the vfio modules this run loaded, if unused",
                                 (const char *const[]){"loaded", list, "present", present, NULL},
                                 err);
                free(present);
        }
        for (size_t i = 0; i < s->to_load.count && r == 0; i++) {
                r = ctx->modules->insert(ctx->modules->userdata, s->to_load.items[i], err);
                if (r == 0)
                        step_log(ctx, LOG_INFO, "loaded module %s", s->to_load.items[i]);
        }
        for (size_t i = 0; i < s->group.count && r == 0; i++)
                r = bind_to_vfio(ctx, &s->group.devices[i], err);
        return r;
}

/* A function the gpu_health step found unhealthy stays on vfio-pci until the next boot
 * (its host driver could hang the kernel on it): giving it back is not undone, so the
 * restore can finish and run again without touching it. */
static bool kept_lost(struct hostprep_ctx *ctx, const char *addr)
{
        struct hostprep_gpu_lost lost;
        bool stale;
        if (!ctx->opts || !ctx->opts->run_dir ||
            hostprep_gpu_lost_read(ctx->opts->run_dir, &lost, &stale) <= 0)
                return false;
        const struct hostprep_gpu_lost_entry *e = hostprep_gpu_lost_find(&lost, addr);
        if (e)
                step_log(ctx, LOG_ERR,
                         "%s stays on " VFIO_DRIVER
                         " (%s): not given back to its driver; reboot the host to use it again",
                         addr, e->reason);
        hostprep_gpu_lost_free(&lost);
        return e != NULL;
}

static int undo_device(struct hostprep_ctx *ctx, const char *addr, const char *driver,
                       const char *override, struct vl_error *err)
{
        char path[PATH_MAX], now[PCI_NAME_LEN];
        if (kept_lost(ctx, addr))
                return 0;
        /* gpu_health runs before this (undo is in reverse): when it failed, the card's
         * health is unknown, and an unchecked GPU never goes to its driver. Failing here
         * keeps the journal, so the next restore checks it, then gives it back. */
        if (step_undo_failed(ctx, "gpu_health"))
                return vl_error_set_plain(
                        err, EAGAIN,
                        "kept on " VFIO_DRIVER
                        ": the GPU's health check failed (above), and a GPU not known to be healthy never goes to its driver");
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", addr);
        if (!sysroot_exists(path))
                return vl_error_set(err, ENODEV, "%s is gone from the PCI bus", addr);
        /* writing a newline clears driver_override ("(null)") */
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", addr);
        int r = pci_write(ctx, path, override[0] ? override : "\n", err);
        if (r == 0 && pci_current_driver(addr, now, sizeof(now)) == 0 && driver[0] &&
            streq(now, driver))
                return 0;
        if (r == 0)
                r = unbind_current(ctx, addr, err);
        if (r < 0 || !driver[0])
                return r;
        snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s", driver);
        if (!sysroot_exists(path)) {
                /* its module was unloaded: the modules step loads it next and the
                 * kernel binds the device then */
                step_log(ctx, LOG_INFO,
                         "%s " VFIO_DRIVER " -> no driver until the module of %s is loaded", addr,
                         driver);
                return 0;
        }
        r = pci_write(ctx, "/sys/bus/pci/drivers_probe", addr, err);
        if (r == 0)
                r = wait_for_driver(addr, driver, ctx->timeout_ms, err);
        if (r == 0)
                step_log(ctx, LOG_INFO, "%s " VFIO_DRIVER " -> %s", addr, driver);
        return r;
}

/* Adds to deps every loaded module that a module of deps (or of roots) holds,
 * transitively: what loading the roots brought in. */
static int collect_dependencies(const char *const *roots, size_t n_roots, struct vl_strv *deps)
{
        struct vl_strv all = {0};
        int r = sysroot_list_dir("/sys/module", &all);
        if (r < 0)
                return r;
        for (bool grew = true; grew && r == 0;) {
                grew = false;
                for (size_t i = 0; i < all.count && r == 0; i++) {
                        const char *d = all.items[i];
                        if (vl_strv_contains(deps, d))
                                continue;
                        for (size_t j = 0; j < n_roots + deps->count; j++) {
                                const char *m = j < n_roots ? roots[j] : deps->items[j - n_roots];
                                char path[PATH_MAX];
                                snprintf(path, sizeof(path), "/sys/module/%s/holders/%s", d, m);
                                if (sysroot_exists(path)) {
                                        r = vl_strv_push(deps, d);
                                        grew = true;
                                        break;
                                }
                        }
                }
        }
        vl_strv_free(&all);
        return r;
}

static bool module_unused(const char *module)
{
        char path[PATH_MAX], line[32];
        struct vl_strv holders = {0};
        snprintf(path, sizeof(path), "/sys/module/%s/refcnt", module);
        if (sysroot_read_line(path, line, sizeof(line)) < 0 || !streq(line, "0"))
                return false;
        snprintf(path, sizeof(path), "/sys/module/%s/holders", module);
        sysroot_list_dir(path, &holders);
        bool unused = holders.count == 0;
        vl_strv_free(&holders);
        return unused;
}

static int undo_modules(struct hostprep_ctx *ctx, const char *loaded, const char *present,
                        struct vl_error *err)
{
        /* A device still on vfio-pci (bound before this run, or by another VM) keeps
         * vfio_pci, which unloading would unbind, and what vfio_pci holds; the rest of
         * what this run loaded goes if nothing uses it (an open group holds
         * vfio_iommu_type1), so the host is as before. */
        char **addrs = NULL;
        size_t n = 0;
        char still_bound[PCI_NAME_LEN] = "";
        pci_driver_devices(VFIO_DRIVER, &addrs, &n);
        if (n)
                snprintf(still_bound, sizeof(still_bound), "%s", addrs[0]);
        pci_addrs_free(addrs, n);
        struct vl_strv deps = {0};
        if (present && collect_dependencies(vfio_modules, 2, &deps) < 0) {
                vl_strv_free(&deps);
                return vl_error_set(err, ENOMEM, "list the vfio modules' dependencies");
        }
        int r = 0;
        /* unload in reverse load order: vfio_pci before vfio_iommu_type1 */
        for (int i = 1; i >= 0 && r == 0; i--) {
                const char *m = vfio_modules[i];
                if (!in_comma_list(loaded, m) || !module_loaded(m))
                        continue;
                if (still_bound[0] && (streq(m, "vfio_pci") || !module_unused(m))) {
                        step_log(ctx, LOG_NOTICE,
                                 "keeping module %s loaded: %s is still bound to " VFIO_DRIVER, m,
                                 still_bound);
                        continue;
                }
                r = ctx->modules->remove(ctx->modules->userdata, vfio_modules[i], ctx->timeout_ms,
                                         err);
                if (r == 0)
                        step_log(ctx, LOG_INFO, "unloaded module %s", vfio_modules[i]);
        }
        /* Then what they brought in, users before what they use: repeat while some
         * module not loaded before becomes unused. */
        for (bool progress = true; progress && r == 0;) {
                progress = false;
                for (size_t i = 0; i < deps.count && r == 0; i++) {
                        const char *m = deps.items[i];
                        if (in_comma_list(present, m) || !module_loadable_loaded(m) ||
                            !module_unused(m))
                                continue;
                        r = ctx->modules->remove(ctx->modules->userdata, m, ctx->timeout_ms, err);
                        if (r == 0) {
                                step_log(ctx, LOG_INFO, "unloaded module %s", m);
                                progress = true;
                        }
                }
        }
        vl_strv_free(&deps);
        return r;
}

static int vfio_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                     struct vl_error *err)
{
        const char *loaded = journal_record_get(rec, "loaded");
        if (loaded)
                return undo_modules(ctx, loaded, journal_record_get(rec, "present"), err);
        const char *addr = journal_record_get(rec, "device");
        const char *driver = journal_record_get(rec, "driver");
        const char *override = journal_record_get(rec, "override");
        if (!addr || !pci_addr_is_valid(addr) || !driver || !override || strchr(driver, '/'))
                return vl_error_set(err, EINVAL, "vfio record without a valid device/driver");
        return undo_device(ctx, addr, driver, override, err);
}

const struct hostprep_step step_vfio = {
        .name = "vfio",
        .inspect = vfio_inspect,
        .describe = vfio_describe,
        .apply = vfio_apply,
        .undo = vfio_undo,
        .free_state = vfio_free,
};
