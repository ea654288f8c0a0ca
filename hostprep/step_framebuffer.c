/* Unbind the firmware framebuffer that scans out of the GPU's memory: efifb
 * (efi-framebuffer), simpledrm/simplefb (simple-framebuffer) or vesafb
 * (vesa-framebuffer), whichever is bound; rebind on restore.
 *
 * Since Linux 6.0 vfio-pci removes a firmware framebuffer that overlaps the device's
 * BARs by itself (aperture_remove_conflicting_pci_devices), so the platform device
 * may be gone at restore: then there is nothing to rebind and we say so. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/deadline_write.h"
#include "hostprep/firmware_fb.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "vmdefs/vmdef.h"
#include "util/macro.h"

static const char *const fb_drivers[] = {"efi-framebuffer", "simple-framebuffer",
                                         "vesa-framebuffer"};

struct fb_state {
        struct vl_strv drivers; /* parallel: driver, bound platform device */
        struct vl_strv devices;
        bool unbind;   /* the framebuffer is on the GPU (or may be) */
        char why[384]; /* for the plan: which memory, which BAR */
};

static void fb_free(void *state)
{
        struct fb_state *s = state;
        vl_strv_free(&s->drivers);
        vl_strv_free(&s->devices);
        free(s);
}

static int fb_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        if (ctx->def->framebuffer == VMDEF_OFF || !ctx->def->has_gpu)
                return 0;
        struct fb_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "framebuffer");
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(fb_drivers) && r == 0; i++) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof(dir), "/sys/bus/platform/drivers/%s", fb_drivers[i]);
                struct vl_strv entries;
                if (sysroot_list_dir(dir, &entries) < 0)
                        continue; /* driver not in this kernel */
                for (size_t j = 0; j < entries.count && r == 0; j++) {
                        char dev[PATH_MAX];
                        /* bound devices appear as links named like the device */
                        snprintf(dev, sizeof(dev), "/sys/bus/platform/devices/%s",
                                 entries.items[j]);
                        if (strncmp(entries.items[j], fb_drivers[i], strlen(fb_drivers[i])) != 0 ||
                            !sysroot_exists(dev))
                                continue;
                        r = vl_strv_push(&s->drivers, fb_drivers[i]);
                        if (r == 0)
                                r = vl_strv_push(&s->devices, entries.items[j]);
                }
                vl_strv_free(&entries);
        }
        if (r == 0 && s->devices.count) {
                struct firmware_fb_place place;
                r = firmware_fb_locate(ctx->def, &place);
                if (r == 0) {
                        s->unbind = place.on_gpu;
                        snprintf(s->why, sizeof(s->why), "%s", place.why);
                }
        }
        if (r < 0 || s->devices.count == 0) {
                fb_free(s);
                return r < 0 ? vl_error_set(err, -r, "framebuffer") : 0;
        }
        *state = s;
        return 0;
}

static int fb_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct fb_state *s = state;
        for (size_t i = 0; i < s->devices.count; i++)
                if (plan_add(plan, "framebuffer", "%s %s %s %s: %s", s->unbind ? "unbind" : "keep",
                             s->devices.items[i], s->unbind ? "from" : "on", s->drivers.items[i],
                             s->why) < 0)
                        return -ENOMEM;
        return 0;
}

static int fb_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct fb_state *s = state;
        for (size_t i = 0; i < s->devices.count && s->unbind; i++) {
                const char *driver = s->drivers.items[i], *dev = s->devices.items[i];
                char path[PATH_MAX], desc[256];
                snprintf(desc, sizeof(desc), "rebind %s to %s", dev, driver);
                int r = step_journal(ctx, desc,
                                     (const char *const[]){"driver", driver, "device", dev, NULL},
                                     err);
                snprintf(path, sizeof(path), "/sys/bus/platform/drivers/%s/unbind", driver);
                if (r == 0)
                        r = deadline_write(path, dev, ctx->timeout_ms, err);
                if (r < 0)
                        return r;
                step_log(ctx, LOG_INFO, "unbound %s from %s: %s", dev, driver, s->why);
        }
        return 0;
}

static bool is_known_fb_driver(const char *driver)
{
        for (size_t i = 0; i < ELEMENTSOF(fb_drivers); i++)
                if (streq(driver, fb_drivers[i]))
                        return true;
        return false;
}

static int fb_undo(struct hostprep_ctx *ctx, const struct journal_record *rec, struct vl_error *err)
{
        const char *driver = journal_record_get(rec, "driver");
        const char *dev = journal_record_get(rec, "device");
        if (!driver || !dev || !is_known_fb_driver(driver) || strchr(dev, '/'))
                return vl_error_set(err, EINVAL,
                                    "framebuffer record without a valid driver/device");
        char path[PATH_MAX], bound[128];
        snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s", dev);
        if (!sysroot_exists(path)) {
                step_log(
                        ctx, LOG_NOTICE,
                        "%s is gone: the kernel removed it (vfio-pci evicts a framebuffer on the GPU's BARs since Linux 6.0, and a DRM driver that loads does too); not rebinding it, the GPU's own driver brings the console back",
                        dev);
                return 0;
        }
        snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/driver", dev);
        if (sysroot_link_basename(path, bound, sizeof(bound)) == 0 && streq(bound, driver))
                return 0;
        snprintf(path, sizeof(path), "/sys/bus/platform/drivers/%s/bind", driver);
        int r = deadline_write(path, dev, ctx->timeout_ms, err);
        if (r == 0)
                step_log(ctx, LOG_INFO, "rebound %s to %s", dev, driver);
        return r;
}

const struct hostprep_step step_framebuffer = {
        .name = "framebuffer",
        .inspect = fb_inspect,
        .describe = fb_describe,
        .apply = fb_apply,
        .undo = fb_undo,
        .free_state = fb_free,
};
