/* Unbind the firmware framebuffer that scans out of the GPU's memory: efifb
 * (efi-framebuffer), simpledrm/simplefb (simple-framebuffer) or vesafb
 * (vesa-framebuffer), whichever is bound; rebind on restore.
 *
 * Since Linux 6.0 vfio-pci removes a firmware framebuffer that overlaps the device's
 * BARs by itself (aperture_remove_conflicting_pci_devices), so the platform device
 * may be gone at restore: then there is nothing to rebind and we say so. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hostprep/deadline_write.h"
#include "hostprep/iomem.h"
#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "vmdefs/vmdef.h"

static const char *const fb_drivers[] = {"efi-framebuffer", "simple-framebuffer",
                                         "vesa-framebuffer"};

struct fb_state {
        struct vl_strv drivers; /* parallel: driver, bound platform device */
        struct vl_strv devices;
        bool unbind;   /* the framebuffer is on the GPU (or may be) */
        char why[384]; /* for the plan: which memory, which BAR */
};

/* The memory BARs of the devices passed through: the GPU's IOMMU group, or the GPU
 * alone when the group cannot be read. */
static int group_bars(const struct vm_def *def, struct mem_ranges *bars, char *who, size_t len)
{
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        snprintf(who, len, "%s", addr);
        *bars = (struct mem_ranges){0};
        struct pci_group g = {0};
        struct vl_error ignored;
        bool have_group = pci_group_read(addr, &g, &ignored) == 0;
        size_t n = have_group ? g.count : 1;
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                const char *dev = have_group ? g.devices[i].addr : addr;
                struct mem_ranges one;
                if (pci_memory_bars(dev, &one) < 0)
                        continue;
                for (size_t j = 0; j < one.count && r == 0; j++) {
                        struct mem_range *more =
                                realloc(bars->items, (bars->count + 1) * sizeof(*more));
                        if (!more) {
                                r = -ENOMEM;
                                break;
                        }
                        bars->items = more;
                        more[bars->count] = one.items[j];
                        /* "BAR 1 of 0000:06:00.0" */
                        snprintf(more[bars->count].name, sizeof(more->name), "%.16s of %.16s",
                                 one.items[j].name, dev);
                        bars->count++;
                }
                mem_ranges_free(&one);
        }
        if (have_group)
                pci_group_free(&g);
        return r;
}

/* Whether the firmware framebuffer's memory (from /proc/iomem) lies in one of the
 * passed-through devices' BARs. A framebuffer on another card (the iGPU) stays with
 * the host; when the memory cannot be found, assume it is on the GPU: a framebuffer
 * left on the BARs would keep vfio-pci from claiming them. */
static int fb_decide(const struct vm_def *def, struct fb_state *s)
{
        struct mem_ranges fbs, bars;
        char who[16];
        int r = iomem_framebuffers(&fbs);
        if (r == 0)
                r = group_bars(def, &bars, who, sizeof(who));
        if (r < 0) {
                mem_ranges_free(&fbs);
                return r;
        }
        s->unbind = true;
        if (fbs.count == 0)
                snprintf(s->why, sizeof(s->why),
                         "/proc/iomem does not show where its memory is, so it may be on the GPU");
        else if (bars.count == 0)
                snprintf(s->why, sizeof(s->why),
                         "the BARs of %s cannot be read, so its memory may be on them", who);
        for (size_t i = 0; i < fbs.count && bars.count; i++)
                for (size_t j = 0; j < bars.count; j++) {
                        if (!mem_ranges_overlap(&fbs.items[i], &bars.items[j]))
                                continue;
                        snprintf(s->why, sizeof(s->why),
                                 "its memory %" PRIx64 "-%" PRIx64 " (%s in /proc/iomem) is in %s",
                                 fbs.items[i].start, fbs.items[i].end, fbs.items[i].name,
                                 bars.items[j].name);
                        goto done;
                }
        if (fbs.count && bars.count) {
                s->unbind = false;
                snprintf(s->why, sizeof(s->why),
                         "its memory %" PRIx64 "-%" PRIx64 " (%s in /proc/iomem) is on another "
                         "card, outside the BARs of %s's IOMMU group",
                         fbs.items[0].start, fbs.items[0].end, fbs.items[0].name, who);
        }
done:
        mem_ranges_free(&fbs);
        mem_ranges_free(&bars);
        return 0;
}

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
        for (size_t i = 0; i < sizeof(fb_drivers) / sizeof(fb_drivers[0]) && r == 0; i++) {
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
        if (r == 0 && s->devices.count)
                r = fb_decide(ctx->def, s);
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
        for (size_t i = 0; i < sizeof(fb_drivers) / sizeof(fb_drivers[0]); i++)
                if (!strcmp(driver, fb_drivers[i]))
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
                step_log(ctx, LOG_NOTICE,
                         "%s is gone: the kernel removed it (vfio-pci evicts a framebuffer on "
                         "the GPU's BARs since Linux 6.0, and a DRM driver that loads does too); "
                         "not rebinding it, the GPU's own driver brings the console back",
                         dev);
                return 0;
        }
        snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/driver", dev);
        if (sysroot_link_basename(path, bound, sizeof(bound)) == 0 && !strcmp(bound, driver))
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
