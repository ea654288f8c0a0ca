#include "run/gpu_signals.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util/macro.h"

#define PCI_ADDR_CHARS 12 /* "0000:00:02.0" */

static const char *in_group(const char *addr, size_t len, const char *const *group, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(group[i]) == len && !strncasecmp(group[i], addr, len))
                        return group[i];
        return NULL;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
        size_t plen = strlen(prefix);
        return len >= plen && !memcmp(s, prefix, plen);
}

const char *gpu_signal_kmsg(const char *record, size_t len, const char *const *group, size_t n)
{
        static const char *const requests[] = {
                "Relaying device request to user",
                "No device request channel registered",
        };
        const char *eol = memchr(record, '\n', len);
        size_t line = eol ? (size_t)(eol - record) : len;
        const char *semi = memchr(record, ';', line);
        if (!semi)
                return NULL;
        /* dev_printk puts "DRIVER DEVICE: " in front of the text */
        const char *text = semi + 1;
        size_t left = line - (size_t)(text - record);
        if (!starts_with(text, left, "vfio-pci "))
                return NULL;
        text += strlen("vfio-pci "), left -= strlen("vfio-pci ");
        if (left < PCI_ADDR_CHARS + 2 || memcmp(text + PCI_ADDR_CHARS, ": ", 2))
                return NULL;
        const char *addr = text;
        text += PCI_ADDR_CHARS + 2, left -= PCI_ADDR_CHARS + 2;
        for (size_t i = 0; i < ELEMENTSOF(requests); i++)
                if (starts_with(text, left, requests[i]))
                        return in_group(addr, PCI_ADDR_CHARS, group, n);
        return NULL;
}

const char *gpu_signal_uevent(const char *msg, size_t len, const char *const *group, size_t n)
{
        /* the kernel's header is ACTION@DEVPATH; udev's own messages start "libudev" */
        const char *end = msg + len;
        const char *hdr_end = memchr(msg, '\0', len);
        if (!hdr_end || !memchr(msg, '@', (size_t)(hdr_end - msg)))
                return NULL;
        bool remove = false, pci = false;
        const char *slot = NULL;
        size_t slot_len = 0;
        for (const char *p = hdr_end + 1; p < end;) {
                const char *z = memchr(p, '\0', (size_t)(end - p));
                size_t l = z ? (size_t)(z - p) : (size_t)(end - p);
                if (l == strlen("ACTION=remove") && starts_with(p, l, "ACTION=remove"))
                        remove = true;
                else if (l == strlen("SUBSYSTEM=pci") && starts_with(p, l, "SUBSYSTEM=pci"))
                        pci = true;
                else if (starts_with(p, l, "PCI_SLOT_NAME="))
                        slot = p + strlen("PCI_SLOT_NAME="),
                        slot_len = l - strlen("PCI_SLOT_NAME=");
                p += l + 1;
        }
        if (!remove || !pci || !slot)
                return NULL;
        return in_group(slot, slot_len, group, n);
}
