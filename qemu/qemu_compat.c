#include "qemu/qemu_compat.h"
#include "util/macro.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct feature {
        const char *what; /* as the user wrote it */
        unsigned since;   /* first QEMU release that has it */
        bool (*used)(const struct vm_def *def);
};

static bool always(const struct vm_def *def)
{
        (void)def;
        return true;
}
static bool uses_dies(const struct vm_def *def)
{
        return def->dies > 1;
}
static bool uses_prealloc_threads(const struct vm_def *def)
{
        return def->prealloc && def->prealloc_threads > 0;
}
static bool uses_hv_stimer_direct(const struct vm_def *def)
{
        return def->hyperv.enabled && def->hyperv.stimer_direct;
}
static bool uses_hv_avic(const struct vm_def *def)
{
        return def->hyperv.enabled && def->hyperv.avic;
}
static bool uses_hv_xmm_input(const struct vm_def *def)
{
        return def->hyperv.enabled && def->hyperv.xmm_input;
}
static bool uses_hv_tlbflush_ext(const struct vm_def *def)
{
        return def->hyperv.enabled && def->hyperv.tlbflush_ext;
}
static bool uses_hv_tlbflush_direct(const struct vm_def *def)
{
        return def->hyperv.enabled && def->hyperv.tlbflush_direct;
}
static bool uses_hv_emsr_bitmap(const struct vm_def *def)
{
        return def->hyperv.enabled && def->hyperv.emsr_bitmap;
}

static const struct feature features[] = {
        /* The command line always names the RAM backend (-machine memory-backend=). */
        {"running any VM (-machine memory-backend=)", 50000, always},
        {"[cpu] dies", 40100, uses_dies},
        {"[memory] prealloc_threads", 50000, uses_prealloc_threads},
        {"[hyperv] stimer_direct", 40100, uses_hv_stimer_direct},
        {"[hyperv] avic", 60200, uses_hv_avic},
        {"[hyperv] xmm_input", 70100, uses_hv_xmm_input},
        {"[hyperv] tlbflush_ext", 70100, uses_hv_tlbflush_ext},
        {"[hyperv] tlbflush_direct", 70100, uses_hv_tlbflush_direct},
        {"[hyperv] emsr_bitmap", 70100, uses_hv_emsr_bitmap},
};

int qemu_compat_check(const struct vm_def *def, unsigned version, struct vl_error *err)
{
        for (size_t i = 0; i < ELEMENTSOF(features); i++) {
                const struct feature *f = &features[i];
                if (version >= f->since || !f->used(def))
                        continue;
                vl_error_set(
                        err, 0,
                        "%s needs QEMU %u.%u or newer, this is QEMU %u.%u.%u; upgrade QEMU or turn the feature off",
                        f->what, f->since / 10000, f->since / 100 % 100, version / 10000,
                        version / 100 % 100, version % 100);
                return -ENOTSUP;
        }
        return 0;
}

int qemu_version_parse(const char *text, unsigned *version)
{
        const char *p = strstr(text, "version ");
        unsigned major, minor, micro = 0;
        if (!p || sscanf(p, "version %u.%u.%u", &major, &minor, &micro) < 2 || minor > 99 ||
            micro > 99)
                return -EINVAL;
        *version = major * 10000 + minor * 100 + micro;
        return 0;
}
