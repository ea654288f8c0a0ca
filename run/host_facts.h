/* What `plan`, `check` and `run` learn from the host before building QEMU's command
 * line: the run folder, the accelerator, the GPU's IOMMU group, `vcpu_pin = auto`
 * resolved and the pins checked against the CPU topology. One resolver for all three
 * verbs so that `plan` shows exactly what `run` will do. */
#pragma once

#include <stddef.h>

#include "qemu/qemu_platform.h"
#include "run/firmware_choice.h"
#include "topology/topology.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

enum host_facts_mode {
        /* plan: the definition may be for another machine; what this host lacks is a
         * warning and the definition's own values stand in. */
        HOST_FACTS_PLAN,
        /* check, run: what this host lacks is an error. */
        HOST_FACTS_STRICT,
};

struct host_facts_opts {
        enum host_facts_mode mode;
        /* The topology to pin against: this host unless --topology says otherwise. */
        enum topology_origin topology_origin;
        const char *topology_arg;
};

struct host_facts {
        char *run_dir;
        enum vmdef_accel accel; /* KVM or TCG, never AUTO */
        char accel_reason[160];
        /* The group as found on the host; NULL when the definition's stands in. */
        struct vmdef_pci_addr *gpu_group;
        size_t n_gpu_group;
        /* The NUMA node of every vCPU pin, -1 when there is none (one node, spread). */
        int numa_node;
        /* Why vcpu_pin = auto chose what it chose, one line each. */
        struct vl_strv pin_reasons;
        /* [smbios] mode = host: /sys/class/dmi/id's strings in qemu_smbios_fields[]
         * order, NULL where a file is missing or unreadable. */
        char *smbios_host[QEMU_SMBIOS_N_FIELDS];
        bool has_smbios_host;
        /* Sum of the 64-bit prefetchable memory BARs of the GPU's group. */
        uint64_t gpu_bar64_bytes;
        /* The OVMF build from QEMU's descriptors (def's code/vars_template filled in). */
        struct firmware_choice firmware;
};

/* Resolves the facts for def (def's pins are filled in when vcpu_pin = auto).
 * Problems go to diags as warnings (PLAN) or errors (STRICT), in the definition's
 * FILE:LINE: [section] key: form. Returns 0, or -errno with err set for what stops
 * every verb (out of memory, a run folder name that cannot be built). */
int host_facts_resolve(struct vm_def *def, const struct host_facts_opts *opts,
                       struct host_facts *facts, struct vmdef_diags *diags, struct vl_error *err);
void host_facts_free(struct host_facts *facts);

/* What host preparation would refuse (a device the host needs in the GPU's group,
 * a process outside stop_units holding the GPU, hugepages the host cannot give),
 * as errors in diags, found while nothing has changed. Returns 0 or -ENOMEM. */
int host_facts_check_steps(const struct vm_def *def, const struct host_facts *facts,
                           struct vmdef_diags *diags);
