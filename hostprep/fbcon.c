/* What sysfs tells and what it does not:
 *
 * - /sys/class/graphics/fbN is every registered framebuffer; fbN/name is its id
 *   ("simpledrmdrmfb", "EFI VGA", "nvidia-drmdrmfb", as in /proc/fb) and fbN/device
 *   its parent: the PCI device for a DRM driver's fbdev emulation, the platform device
 *   (efi-framebuffer.0, simple-framebuffer.0, vesa-framebuffer.0) for a firmware
 *   framebuffer, whose card only /proc/iomem tells (firmware_fb.h).
 * - Which fbN each console is drawn on (fbcon's con2fb map) is not in sysfs:
 *   /sys/class/graphics/fbcon only holds rotate and cursor_blink, and the map is read
 *   with the FBIOGET_CON2FBMAP ioctl on /dev/fbN, which opening the framebuffer takes
 *   (and a fixture cannot answer). So we take the map the kernel starts from: every
 *   console on fb0, or the fbs of `fbcon=map:` on the command line; with
 *   CONFIG_FRAMEBUFFER_CONSOLE_DETECT_PRIMARY (a config we cannot read) the consoles
 *   move to the framebuffer of the boot VGA device (boot_vga = 1), so that one counts
 *   too. A map changed at run time (con2fbmap) is not seen.
 * - When no framebuffer is listed or one fbcon may draw on has no readable device,
 *   we cannot tell, and say the console may be on the GPU: unbinding it costs the host
 *   its text console for a while, keeping one on the GPU makes prepare fail. */
#include "hostprep/fbcon.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/firmware_fb.h"
#include "hostprep/pci.h"
#include "hostprep/sysroot.h"
#include "util/cleanup.h"
#include "util/macro.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

#define GRAPHICS_DIR "/sys/class/graphics"
#define FB_MAX       32 /* include/linux/fb.h */

static const char *const firmware_fb_devices[] = {"efi-framebuffer", "simple-framebuffer",
                                                  "vesa-framebuffer"};

/* The fb numbers of `fbcon=map:0123` on the kernel command line. false: no map. */
static bool cmdline_map(bool mapped[FB_MAX])
{
        _cleanup_free_ char *cmdline = NULL;
        if (sysroot_read_file("/proc/cmdline", &cmdline) < 0)
                return false;
        bool found = false;
        char *save = NULL;
        for (char *opt = strtok_r(cmdline, " \t\n", &save); opt;
             opt = strtok_r(NULL, " \t\n", &save)) {
                if (strncmp(opt, "fbcon=", 6) != 0)
                        continue;
                /* fbcon=font:VGA8x16,map:01 */
                char *inner = NULL;
                for (char *o = strtok_r(opt + 6, ",", &inner); o; o = strtok_r(NULL, ",", &inner)) {
                        if (strncmp(o, "map:", 4) != 0)
                                continue;
                        for (const char *d = o + 4; *d >= '0' && *d <= '9'; d++) {
                                mapped[*d - '0'] = true;
                                found = true;
                        }
                }
        }
        return found;
}

static bool is_boot_vga(const char *pci_addr)
{
        char path[PATH_MAX], value[8];
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/boot_vga", pci_addr);
        return sysroot_read_line(path, value, sizeof(value)) == 0 && streq(value, "1");
}

/* The endpoints passed through: the group without its bridges, or the GPU alone. */
static int group_endpoints(const struct vm_def *def, struct vl_strv *out)
{
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        struct pci_group g;
        struct vl_error ignored;
        if (pci_group_read(addr, &g, &ignored) < 0)
                return vl_strv_push(out, addr);
        int r = 0;
        for (size_t i = 0; i < g.count && r == 0; i++)
                if (!pci_is_bridge(&g.devices[i]))
                        r = vl_strv_push(out, g.devices[i].addr);
        pci_group_free(&g);
        return r;
}

struct fb_info {
        char node[8];        /* "fb0" */
        char name[64];       /* "simpledrm" */
        char real[PATH_MAX]; /* fbN/device resolved, "" when it has none */
        char pci[16];        /* the device's own PCI address, "" when it is not one */
};

static void fb_read(const char *node, struct fb_info *fb)
{
        char path[PATH_MAX];
        snprintf(fb->node, sizeof(fb->node), "%s", node);
        snprintf(path, sizeof(path), GRAPHICS_DIR "/%s/name", node);
        if (sysroot_read_line(path, fb->name, sizeof(fb->name)) < 0 || !fb->name[0])
                snprintf(fb->name, sizeof(fb->name), "%s", node);
        /* DRM drivers name their fbdev "<driver>drmfb" */
        size_t n = strlen(fb->name);
        if (n > 5 && streq(fb->name + n - 5, "drmfb"))
                fb->name[n - 5] = '\0';
        fb->real[0] = fb->pci[0] = '\0';
        char link[PATH_MAX];
        if (sysroot_path(link, sizeof(link), GRAPHICS_DIR "/%s/device", node) < 0 ||
            !realpath(link, fb->real)) {
                fb->real[0] = '\0';
                return;
        }
        const char *base = strrchr(fb->real, '/');
        base = base ? base + 1 : fb->real;
        if (pci_addr_is_valid(base))
                snprintf(fb->pci, sizeof(fb->pci), "%.12s", base); /* valid: 12 chars */
}

static bool is_firmware_fb(const struct fb_info *fb)
{
        const char *base = strrchr(fb->real, '/');
        base = base ? base + 1 : fb->real;
        for (size_t i = 0; i < ELEMENTSOF(firmware_fb_devices); i++)
                if (!strncmp(base, firmware_fb_devices[i], strlen(firmware_fb_devices[i])))
                        return true;
        return false;
}

/* A device below one of the endpoints (the GPU itself, a USB display on the group's
 * USB controller) has that endpoint's address in its sysfs path. */
static bool below_endpoint(const struct fb_info *fb, const struct vl_strv *endpoints)
{
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", fb->real);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
                if (vl_strv_contains(endpoints, c))
                        return true;
        return false;
}

/* Appends "fb0 (simpledrm on another card)" to why. */
static void describe(char *why, size_t len, const struct fb_info *fb, const char *where)
{
        size_t used = strlen(why);
        snprintf(why + used, len - used, "%s%s (%s %s)", used ? ", " : "fbcon draws on ", fb->node,
                 fb->name, where);
}

/* Whether fbcon draws on fb (number n): see the top of the file. */
static bool drawn_on(unsigned n, const struct fb_info *fb, bool have_map, const bool mapped[FB_MAX])
{
        if (have_map)
                return mapped[n];
        return n == 0 || (fb->pci[0] && is_boot_vga(fb->pci));
}

static int locate(const struct vm_def *def, const struct vl_strv *nodes,
                  const struct vl_strv *endpoints, struct fbcon_place *place)
{
        bool mapped[FB_MAX] = {false};
        bool have_map = cmdline_map(mapped);
        bool any = false;
        char keep[sizeof(place->why)] = "";
        for (size_t i = 0; i < nodes->count; i++) {
                const char *digits = nodes->items[i] + 2;
                char *end;
                if (strncmp(nodes->items[i], "fb", 2) != 0 || *digits < '0' || *digits > '9')
                        continue; /* fbcon */
                unsigned long n = strtoul(digits, &end, 10);
                if (*end || n >= FB_MAX)
                        continue;
                struct fb_info fb;
                fb_read(nodes->items[i], &fb);
                if (!drawn_on((unsigned)n, &fb, have_map, mapped))
                        continue;
                any = true;
                const char *where;
                if (!fb.real[0]) {
                        where = "with no device in sysfs, so it may be on the GPU";
                } else if (is_firmware_fb(&fb)) {
                        struct firmware_fb_place fw;
                        int r = firmware_fb_locate(def, &fw);
                        if (r < 0)
                                return r;
                        where = fw.on_gpu ? "on the GPU" : "on another card";
                        if (!fw.on_gpu) {
                                describe(keep, sizeof(keep), &fb, where);
                                continue;
                        }
                } else if (below_endpoint(&fb, endpoints)) {
                        where = "on the GPU's group";
                } else {
                        describe(keep, sizeof(keep), &fb,
                                 fb.pci[0] ? "on another card" : "on another device");
                        continue;
                }
                place->on_gpu = true;
                place->why[0] = '\0';
                describe(place->why, sizeof(place->why), &fb, where);
                return 0;
        }
        if (!any) {
                place->on_gpu = true;
                snprintf(place->why, sizeof(place->why),
                         "no framebuffer fbcon draws on is listed in " GRAPHICS_DIR
                         ", so it may be on the GPU");
                return 0;
        }
        place->on_gpu = false;
        snprintf(place->why, sizeof(place->why), "%s", keep);
        return 0;
}

int fbcon_locate(const struct vm_def *def, struct fbcon_place *place)
{
        place->on_gpu = true;
        place->why[0] = '\0';
        struct vl_strv nodes = {0}, endpoints = {0};
        if (sysroot_list_dir(GRAPHICS_DIR, &nodes) < 0)
                nodes = (struct vl_strv){0};
        int r = group_endpoints(def, &endpoints);
        if (r == 0)
                r = locate(def, &nodes, &endpoints, place);
        vl_strv_free(&nodes);
        vl_strv_free(&endpoints);
        return r;
}
