/* The host CPUs a VM is pinned to: vCPUs, emulator and iothreads, sorted, unique. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/steps.h"
#include "util/sort.h"
#include "vmdefs/vmdef.h"
#include "util/array.h"

static int add_list(const struct vmdef_cpulist *l, unsigned **cpus, size_t *n, size_t *cap)
{
        for (size_t i = 0; i < l->count; i++) {
                bool seen = false;
                for (size_t j = 0; j < *n && !seen; j++)
                        seen = (*cpus)[j] == l->cpus[i];
                if (seen)
                        continue;
                if (VL_ARRAY_GROW(*cpus, *cap, *n) < 0)
                        return -ENOMEM;
                (*cpus)[(*n)++] = l->cpus[i];
        }
        return 0;
}

int pinned_cpus(const struct vm_def *def, unsigned **cpus, size_t *n)
{
        *cpus = NULL;
        *n = 0;
        size_t cap = 0;
        int r = add_list(&def->vcpu_pin, cpus, n, &cap);
        if (r == 0)
                r = add_list(&def->emulator_pin, cpus, n, &cap);
        for (size_t i = 0; r == 0 && i < def->n_iothreads; i++)
                r = add_list(&def->iothreads[i].pin, cpus, n, &cap);
        if (r < 0) {
                free(*cpus);
                *cpus = NULL;
                *n = 0;
                return r;
        }
        if (*n)
                qsort(*cpus, *n, sizeof(**cpus), vl_cmp_unsigned);
        return 0;
}
