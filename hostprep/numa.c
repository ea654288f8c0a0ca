/* Which NUMA node a VM's vCPUs live on: hugepages are reserved there and QEMU binds
 * guest memory to it, so the two always agree. */
#include <limits.h>
#include <stdio.h>

#include "hostprep/hostprep.h"
#include "hostprep/sysroot.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

/* The NUMA node holding every CPU the vCPUs are pinned to, or -1: unpinned, spread
 * over nodes, or a host with one node. The vCPUs are what touches guest memory; the
 * emulator thread may sit elsewhere. *n_nodes: how many nodes the host has. */
int hostprep_vcpu_numa_node(const struct vm_def *def, int *n_nodes)
{
        const struct vmdef_cpulist *pin = &def->vcpu_pin;
        struct vl_strv nodes;
        *n_nodes = 0;
        if (pin->count == 0 || sysroot_list_dir("/sys/devices/system/node", &nodes) < 0)
                return -1;
        int found = -1;
        for (size_t i = 0; i < nodes.count; i++) {
                int node;
                char tail;
                if (sscanf(nodes.items[i], "node%d%c", &node, &tail) != 1)
                        continue;
                (*n_nodes)++;
                char path[PATH_MAX], line[1024], why[128];
                snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
                struct vmdef_cpulist list = {0};
                if (sysroot_read_line(path, line, sizeof(line)) < 0 ||
                    vmdef_parse_cpulist(line, &list, why, sizeof(why)) < 0)
                        continue;
                size_t inside = 0;
                for (size_t c = 0; c < pin->count; c++)
                        for (size_t j = 0; j < list.count; j++)
                                inside += list.cpus[j] == pin->cpus[c];
                vmdef_cpulist_free(&list);
                if (inside == pin->count)
                        found = node;
        }
        vl_strv_free(&nodes);
        return *n_nodes > 1 ? found : -1;
}
