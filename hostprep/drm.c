#include "hostprep/drm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hostprep/sysroot.h"

static bool is_card_name(const char *n)
{
        if (strncmp(n, "card", 4) != 0 || !n[4])
                return false;
        return strspn(n + 4, "0123456789") == strlen(n + 4);
}

int drm_card_read(const char *addr, struct drm_card *card)
{
        *card = (struct drm_card){0};
        struct vl_strv entries = {0};
        if (sysroot_list_dir("/sys/class/drm", &entries) < 0)
                return 0; /* no DRM at all */
        int r = 0;
        for (size_t i = 0; i < entries.count && !card->name[0]; i++) {
                char path[300], dev[64];
                if (!is_card_name(entries.items[i]))
                        continue;
                snprintf(path, sizeof(path), "/sys/class/drm/%s/device", entries.items[i]);
                if (sysroot_link_basename(path, dev, sizeof(dev)) == 0 && !strcmp(dev, addr))
                        snprintf(card->name, sizeof(card->name), "%s", entries.items[i]);
        }
        size_t prefix = strlen(card->name);
        for (size_t i = 0; prefix && r == 0 && i < entries.count; i++) {
                const char *e = entries.items[i];
                if (strncmp(e, card->name, prefix) != 0 || e[prefix] != '-')
                        continue;
                char path[300], status[32];
                snprintf(path, sizeof(path), "/sys/class/drm/%s/status", e);
                if (sysroot_read_line(path, status, sizeof(status)) < 0)
                        continue; /* not a connector (no status) */
                r = vl_strv_push(&card->connectors, e + prefix + 1);
                if (!strcmp(status, "disconnected"))
                        card->n_disconnected++;
        }
        vl_strv_free(&entries);
        if (r < 0)
                drm_card_free(card);
        return r;
}

void drm_card_free(struct drm_card *card)
{
        vl_strv_free(&card->connectors);
        card->name[0] = '\0';
        card->n_disconnected = 0;
}

int drm_check_monitor(const struct vm_def *def, struct vmdef_diags *diags)
{
        if (!def->has_gpu)
                return 0;
        char addr[16];
        vmdef_pci_addr_format(&def->gpu_address, addr);
        struct drm_card card;
        int r = drm_card_read(addr, &card);
        if (r < 0)
                return r;
        if (card.name[0] && card.connectors.count && card.n_disconnected == card.connectors.count) {
                char list[512] = "";
                for (size_t i = 0; i < card.connectors.count; i++) {
                        size_t used = strlen(list);
                        snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                 card.connectors.items[i]);
                }
                vmdef_diag_add(
                        diags, VMDEF_WARNING, vmdef_key_line(def, "gpu", "address"), "gpu",
                        "address",
                        "no monitor is connected to GPU %s (%s: %s disconnected); a headless session needs a dummy plug or a virtual display driver in the guest",
                        addr, card.name, list);
        }
        drm_card_free(&card);
        return 0;
}
