#include "qemu/kvm_usable.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/cleanup.h"

#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define PROBE_MEM_BYTES            4096
#define OPCODE_HLT                 0xf4

/* One page of guest memory holding `hlt` at 0, a vCPU starting there in real mode:
 * KVM_RUN must come back with KVM_EXIT_HLT. */
static bool run_hlt(int kvm, int vm, int vcpu, char *why, size_t why_len)
{
        void *mem = mmap(NULL, PROBE_MEM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        if (mem == MAP_FAILED) {
                snprintf(why, why_len, "mmap: %s", strerror(errno));
                return false;
        }
        ((unsigned char *)mem)[0] = OPCODE_HLT;
        struct kvm_userspace_memory_region region = {
                .slot = 0,
                .guest_phys_addr = 0,
                .memory_size = PROBE_MEM_BYTES,
                .userspace_addr = (unsigned long)mem,
        };
        bool ok = false;
        int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
        struct kvm_run *run = run_size > 0 ? mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE,
                                                  MAP_SHARED, vcpu, 0)
                                           : MAP_FAILED;
        struct kvm_sregs sregs;
        struct kvm_regs regs = {.rip = 0, .rflags = 0x2};
        if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 || run == MAP_FAILED ||
            ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
                snprintf(why, why_len, "cannot set up a test vCPU: %s", strerror(errno));
                goto out;
        }
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
        if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0 ||
            ioctl(vcpu, KVM_RUN, 0) < 0) {
                snprintf(why, why_len, "a test vCPU does not run: %s", strerror(errno));
                goto out;
        }
        ok = run->exit_reason == KVM_EXIT_HLT;
        if (!ok)
                snprintf(why, why_len, "a test vCPU running `hlt` exited with reason %u",
                         run->exit_reason);
out:
        if (run != MAP_FAILED)
                munmap(run, (size_t)run_size);
        munmap(mem, PROBE_MEM_BYTES);
        return ok;
}

/* QEMU copies IA32_ARCH_CAPABILITIES from KVM's feature MSRs into every vCPU of
 * `-cpu host`/`max` and asserts that KVM took it. */
static bool arch_capabilities_accepted(int kvm, int vcpu, char *why, size_t why_len)
{
        struct kvm_msr_list probe = {.nmsrs = 0};
        if (ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, &probe) < 0 && errno != E2BIG)
                return true; /* no feature MSRs: QEMU sets none */
        struct kvm_msr_list *list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(__u32));
        if (!list)
                return true;
        list->nmsrs = probe.nmsrs;
        bool listed = false;
        if (ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, list) == 0)
                for (__u32 i = 0; i < list->nmsrs; i++)
                        listed |= list->indices[i] == MSR_IA32_ARCH_CAPABILITIES;
        free(list);
        if (!listed)
                return true;

        struct {
                struct kvm_msrs head;
                struct kvm_msr_entry entry;
        } msr = {.head = {.nmsrs = 1}, .entry = {.index = MSR_IA32_ARCH_CAPABILITIES}};
        if (ioctl(kvm, KVM_GET_MSRS, &msr) != 1)
                return true;
        if (ioctl(vcpu, KVM_SET_MSRS, &msr) == 1)
                return true;
        snprintf(why, why_len,
                 "KVM refuses MSR 0x%x (IA32_ARCH_CAPABILITIES) that QEMU sets for -cpu host/max",
                 MSR_IA32_ARCH_CAPABILITIES);
        return false;
}

bool kvm_usable(const char *kvm_path, bool host_features, char *why, size_t why_len)
{
        _cleanup_close_ int kvm = open(kvm_path, O_RDWR | O_CLOEXEC);
        if (kvm < 0) {
                snprintf(why, why_len, "%s: %s", kvm_path, strerror(errno));
                return false;
        }
        if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
                snprintf(why, why_len, "%s speaks another KVM API version", kvm_path);
                return false;
        }
        _cleanup_close_ int vm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (vm < 0) {
                snprintf(why, why_len, "KVM_CREATE_VM: %s", strerror(errno));
                return false;
        }
        _cleanup_close_ int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
        if (vcpu < 0) {
                snprintf(why, why_len, "KVM_CREATE_VCPU: %s", strerror(errno));
                return false;
        }
        if (host_features && !arch_capabilities_accepted(kvm, vcpu, why, why_len))
                return false;
        return run_hlt(kvm, vm, vcpu, why, why_len);
}
