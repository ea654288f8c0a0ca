/* The hook scripts of the usual single-GPU passthrough guide, line by line: which of
 * their commands vmlaunch now does itself (and journals, and undoes), and which are the
 * user's own and must stay a hook. Matching is by the commands the guides use; a line
 * nothing here recognises is reported as remaining, never assumed done. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importer/importer.h"
#include "util/macro.h"

struct hook_action {
        const char *needle; /* a substring of the command line */
        const char *what;   /* what it does, and what in vmlaunch does it instead */
};

/* First match wins: more specific needles first. */
static const struct hook_action actions[] = {
        {"display-manager", "display manager: vmlaunch stops and starts [host] stop_units"},
        {"systemctl stop gdm", "display manager: vmlaunch stops and starts [host] stop_units"},
        {"systemctl stop sddm", "display manager: vmlaunch stops and starts [host] stop_units"},
        {"systemctl stop lightdm", "display manager: vmlaunch stops and starts [host] stop_units"},
        {"systemctl start gdm", "display manager: vmlaunch stops and starts [host] stop_units"},
        {"systemctl start sddm", "display manager: vmlaunch stops and starts [host] stop_units"},
        {"systemctl start lightdm", "display manager: vmlaunch stops and starts [host] stop_units"},
        {"gdm-x-session",
         "display manager's session: vmlaunch waits for the GPU's holders to exit"},
        {"pulseaudio",
         "audio server on the GPU's HDMI audio: vmlaunch names every holder of the GPU before it starts"},
        {"pipewire",
         "audio server on the GPU's HDMI audio: vmlaunch names every holder of the GPU before it starts"},
        {"vtconsole", "virtual consoles: [host] vtconsoles"},
        {"vtcon", "virtual consoles: [host] vtconsoles"},
        {"efi-framebuffer", "EFI framebuffer: [host] framebuffer"},
        {"efifb", "EFI framebuffer: [host] framebuffer"},
        {"vesafb", "framebuffer: [host] framebuffer"},
        {"simple-framebuffer", "framebuffer: [host] framebuffer"},
        {"virsh nodedev-detach", "detach: vmlaunch binds the GPU's whole IOMMU group to vfio-pci"},
        {"virsh nodedev-reattach", "reattach: vmlaunch gives the group back to its drivers"},
        {"driver_override", "detach: vmlaunch binds the GPU's whole IOMMU group to vfio-pci"},
        {"/unbind", "detach: vmlaunch unbinds the group's functions from their drivers"},
        {"/bind", "reattach: vmlaunch binds the group back to its drivers"},
        {"new_id", "detach: vmlaunch binds the GPU's whole IOMMU group to vfio-pci"},
        {"remove_id", "reattach: vmlaunch gives the group back to its drivers"},
        {"modprobe -r", "modules: [host] unload_modules (and loads them again after)"},
        {"rmmod", "modules: [host] unload_modules (and loads them again after)"},
        {"modprobe", "modules: vmlaunch loads vfio-pci and reloads the GPU's drivers itself"},
        {"nr_hugepages", "hugepages: [memory] allocate_hugepages reserves and gives back the pool"},
        {"drop_caches", "hugepages: vmlaunch reserves the pool before the desktop stops"},
        {"compact_memory", "hugepages: vmlaunch reserves the pool before the desktop stops"},
        {"scaling_governor", "governor: [host] governor"},
        {"cpupower frequency-set", "governor: [host] governor"},
        {"AllowedCPUs", "CPU isolation: [host] isolate_cpus"},
        {"systemctl set-property", "CPU isolation: [host] isolate_cpus"},
        {"isolate", "CPU isolation: [host] isolate_cpus"},
        {"sleep", "a fixed sleep: vmlaunch waits for each condition instead, with a timeout"},
};

/* Lines that are shell syntax, not commands. */
static const char *const syntax_only[] = {
        "then",
        "fi",
        "do",
        "done",
        "else",
        "esac",
        "{",
        "}",
        ";;",
        "set -x",
        "set -e",
        "set -eu",
        "set -euo pipefail",
        "exit",
        "exit 0",
};

static int push_line(struct vl_strv *v, unsigned line, const char *what, const char *text)
{
        return what ? vl_strv_pushf(v, "line %u: %s: %s", line, text, what)
                    : vl_strv_pushf(v, "line %u: %s", line, text);
}

int importer_hook_classify(const char *text, struct importer_hook_report *report)
{
        unsigned lineno = 0;
        for (const char *p = text; *p;) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t)(eol - p) : strlen(p);
                lineno++;
                char line[512];
                size_t keep = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
                memcpy(line, p, keep);
                line[keep] = '\0';
                p += n + (eol ? 1 : 0);
                /* Trim, and make control characters visible: the line is printed back. */
                char *s = line;
                while (*s == ' ' || *s == '\t')
                        s++;
                size_t l = strlen(s);
                while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r'))
                        s[--l] = '\0';
                for (char *c = s; *c; c++)
                        if ((unsigned char)*c < 0x20 || *c == 0x7f)
                                *c = '?';
                if (!*s || *s == '#')
                        continue;
                bool syntax = false;
                for (size_t i = 0; i < ELEMENTSOF(syntax_only); i++)
                        syntax = syntax || streq(s, syntax_only[i]);
                if (syntax)
                        continue;
                const char *what = NULL;
                for (size_t i = 0; i < ELEMENTSOF(actions) && !what; i++)
                        if (strstr(s, actions[i].needle))
                                what = actions[i].what;
                int r = what ? push_line(&report->done, lineno, what, s)
                             : push_line(&report->remain, lineno, NULL, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

void importer_hook_report_free(struct importer_hook_report *report)
{
        vl_strv_free(&report->done);
        vl_strv_free(&report->remain);
}
