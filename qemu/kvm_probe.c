#include "qemu/kvm_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/macro.h"

/* Hyper-V MSRs (Hyper-V TLFS, appendix "MSRs"). */
#define HV_X64_MSR_RESET          0x40000003
#define HV_X64_MSR_VP_RUNTIME     0x40000010
#define HV_X64_MSR_VP_ASSIST_PAGE 0x40000073

/* How QEMU finds out: a KVM capability it checks, or an MSR it writes at
 * vCPU reset (KVM_SET_MSRS reports how many MSRs it accepted). */
struct hv_need {
        const char *key;
        size_t offset; /* bool in struct vmdef_hyperv */
        int kvm_cap;   /* 0: none */
        unsigned msr;  /* 0: none */
        const char *what;
};

static const struct hv_need needs[] = {
        {"vpindex", offsetof(struct vmdef_hyperv, vpindex), KVM_CAP_HYPERV_VP_INDEX, 0,
         "KVM_CAP_HYPERV_VP_INDEX"},
        {"synic", offsetof(struct vmdef_hyperv, synic), KVM_CAP_HYPERV_SYNIC, 0,
         "KVM_CAP_HYPERV_SYNIC"},
        {"time", offsetof(struct vmdef_hyperv, time), KVM_CAP_HYPERV_TIME, 0,
         "KVM_CAP_HYPERV_TIME"},
        {"stimer", offsetof(struct vmdef_hyperv, stimer), KVM_CAP_HYPERV_TIME, 0,
         "KVM_CAP_HYPERV_TIME"},
        {"tlbflush", offsetof(struct vmdef_hyperv, tlbflush), KVM_CAP_HYPERV_TLBFLUSH, 0,
         "KVM_CAP_HYPERV_TLBFLUSH"},
        {"ipi", offsetof(struct vmdef_hyperv, ipi), KVM_CAP_HYPERV_SEND_IPI, 0,
         "KVM_CAP_HYPERV_SEND_IPI"},
        {"evmcs", offsetof(struct vmdef_hyperv, evmcs), KVM_CAP_HYPERV_ENLIGHTENED_VMCS, 0,
         "KVM_CAP_HYPERV_ENLIGHTENED_VMCS"},
        {"vapic", offsetof(struct vmdef_hyperv, vapic), 0, HV_X64_MSR_VP_ASSIST_PAGE,
         "the VP assist page MSR"},
        {"reset", offsetof(struct vmdef_hyperv, reset), 0, HV_X64_MSR_RESET, "the reset MSR"},
        {"runtime", offsetof(struct vmdef_hyperv, runtime), 0, HV_X64_MSR_VP_RUNTIME,
         "the VP runtime MSR"},
};

static bool msr_accepted(int vcpu, unsigned msr)
{
        struct {
                struct kvm_msrs head;
                struct kvm_msr_entry entry;
        } set = {.head = {.nmsrs = 1}, .entry = {.index = msr, .data = 0}};
        return ioctl(vcpu, KVM_SET_MSRS, &set) == 1;
}

int kvm_probe_hyperv(const char *kvm_path, const struct vmdef_hyperv *hv, struct vl_error *err)
{
        if (!hv->enabled)
                return 0;
        _cleanup_close_ int kvm = open(kvm_path, O_RDWR | O_CLOEXEC);
        if (kvm < 0)
                return vl_error_set(err, errno, "open %s", kvm_path);
        if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV) <= 0)
                return vl_error_set(
                        err, 0,
                        "[hyperv] enabled: this host's KVM refuses it (no KVM_CAP_HYPERV); set enabled = off in the definition, or run on a KVM that has it");
        _cleanup_close_ int vm = -1, vcpu = -1;
        for (size_t i = 0; i < ELEMENTSOF(needs); i++) {
                const struct hv_need *n = &needs[i];
                if (!*(const bool *)((const char *)hv + n->offset))
                        continue;
                bool ok;
                if (n->kvm_cap) {
                        ok = ioctl(kvm, KVM_CHECK_EXTENSION, n->kvm_cap) > 0;
                } else {
                        /* A throwaway VM with one vCPU, made once. */
                        if (vm < 0 && (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
                                return vl_error_set(err, errno, "KVM_CREATE_VM on %s", kvm_path);
                        if (vcpu < 0 && (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
                                return vl_error_set(err, errno, "KVM_CREATE_VCPU on %s", kvm_path);
                        ok = msr_accepted(vcpu, n->msr);
                }
                if (!ok) {
                        vl_error_set(
                                err, 0,
                                "[hyperv] %s: this host's KVM refuses it (%s %s); set %s = off in the definition, or run on a KVM that has it",
                                n->key, n->kvm_cap ? "no" : "cannot set", n->what, n->key);
                        return -ENOTSUP;
                }
        }
        return 0;
}
