/* The order matters: checks that can fail and the hugepage reservation first, while
 * the desktop is still up; the destructive steps last, so a failure costs little. The
 * hand-over to QEMU's user comes after vfio-pci made /dev/vfio/N and the hooks made
 * what they make. */
#include "hostprep/steps.h"
#include "util/macro.h"

#include <stdlib.h>
#include <string.h>

const struct hostprep_step *const hostprep_steps[] = {
        &step_checks,     &step_hugepages,   &step_governor, &step_isolation, &step_units,
        &step_vtconsoles, &step_framebuffer, &step_modules,  &step_vfio,      &step_reset_method,
        &step_gpu_health, &step_hooks,       &step_handover,
};
const size_t hostprep_n_steps = ELEMENTSOF(hostprep_steps);
/* hostprep_ctx.undo_failed has a bit per step */
_Static_assert(ELEMENTSOF(hostprep_steps) <= sizeof(unsigned long) * 8, "too many steps");

bool step_undo_failed(const struct hostprep_ctx *ctx, const char *name)
{
        size_t k = step_index(name);
        return k && (ctx->undo_failed & (1UL << (k - 1)));
}

size_t step_index(const char *name_or_number)
{
        if (!name_or_number || !*name_or_number)
                return 0;
        char *end;
        unsigned long k = strtoul(name_or_number, &end, 10);
        if (*end == '\0')
                return k <= hostprep_n_steps ? k : 0;
        for (size_t i = 0; i < hostprep_n_steps; i++)
                if (streq(hostprep_steps[i]->name, name_or_number))
                        return i + 1;
        return 0;
}
