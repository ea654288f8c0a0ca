/* What every passthrough host needs, said first by `check`, one line each (the checks
 * of libvirt's virt-host-validate that matter here): the IOMMU with the kernel
 * parameters that turn it on, a usable KVM, the vfio modules, cgroup v2 with the
 * cpuset controller, and the memory the hugepages need. A host without an IOMMU gets
 * that said before any problem of the GPU it causes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct vm_def;

enum hostprep_basic_level {
        HOSTPREP_BASIC_OK,
        HOSTPREP_BASIC_WARNING, /* worth knowing; this VM can still run */
        HOSTPREP_BASIC_ERROR,   /* this VM cannot run */
};

#define HOSTPREP_BASICS_MAX 5

struct hostprep_basic {
        const char *name; /* "iommu", "kvm", "vfio", "cgroup", "memory" */
        enum hostprep_basic_level level;
        char line[512]; /* "IOMMU: off: ..." */
};

/* Reads the host through the sysroot. Returns how many entries it filled (at most
 * HOSTPREP_BASICS_MAX), the IOMMU first. */
size_t hostprep_host_basics(const struct vm_def *def, struct hostprep_basic *out);
