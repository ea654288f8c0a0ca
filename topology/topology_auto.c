/* `vcpu_pin = auto`: the definition's pins filled from the suggestion. */
#include "topology/topology.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cpulist_copy(struct vmdef_cpulist *to, const struct vmdef_cpulist *from)
{
        unsigned *cpus = malloc((from->count ? from->count : 1) * sizeof(*cpus));
        if (!cpus)
                return -ENOMEM;
        memcpy(cpus, from->cpus, from->count * sizeof(*cpus));
        free(to->cpus);
        to->cpus = cpus;
        to->count = from->count;
        return 0;
}

static int push_reason(struct vl_strv *reasons, const char *key, const char *why)
{
        if (!reasons || !why)
                return 0;
        return vl_strv_pushf(reasons, "%s: %s", key, why);
}

int topology_apply_auto_pin(const struct topology *topo, struct vm_def *def,
                            struct vl_strv *reasons, struct vl_error *err)
{
        if (!def->vcpu_pin_auto)
                return 0;
        /* The guest topology is the definition's: only where the vCPUs run is chosen. */
        size_t unpinned = 0;
        for (size_t i = 0; i < def->n_iothreads; i++)
                unpinned += def->iothreads[i].pin.count == 0;
        struct topology_pin_request req = {.n_vcpus = vmdef_vcpu_count(def),
                                           .guest_threads = def->threads ? def->threads : 1,
                                           .n_iothreads = unpinned};
        struct topology_pin_plan plan;
        int r = topology_pin_suggest(topo, &req, &plan, err);
        if (r < 0)
                return vl_error_prefix(err, "[cpu] vcpu_pin = auto"), r;

        r = cpulist_copy(&def->vcpu_pin, &plan.vcpus);
        if (r >= 0)
                r = push_reason(reasons, "vcpu_pin", plan.why_vcpus);
        if (r >= 0 && def->emulator_pin.count == 0) {
                r = cpulist_copy(&def->emulator_pin, &plan.emulator);
                if (r >= 0)
                        r = push_reason(reasons, "emulator_pin", plan.why_emulator);
        }
        size_t next = 0;
        for (size_t i = 0; r >= 0 && i < def->n_iothreads; i++) {
                if (def->iothreads[i].pin.count)
                        continue; /* pinned by hand: the user's choice wins */
                r = cpulist_copy(&def->iothreads[i].pin, &plan.iothreads[next++]);
        }
        if (r >= 0 && next > 0)
                r = push_reason(reasons, "iothreads", plan.why_iothreads);
        for (size_t i = 0; r >= 0 && i < plan.notes.count; i++)
                r = push_reason(reasons, "note", plan.notes.items[i]);
        topology_pin_plan_free(&plan);
        if (r < 0)
                return vl_error_set(err, -r, "[cpu] vcpu_pin = auto");
        return 0;
}
