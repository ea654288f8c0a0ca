/* Asking /dev/kvm, before QEMU is spawned, whether it accepts the Hyper-V
 * enlightenments a definition turns on: a KVM that refuses one makes QEMU
 * exit with "failed to set MSR" or an assertion, naming nothing the user wrote. */
#pragma once

#include "util/error.h"
#include "vmdefs/vmdef.h"

/* 0 when KVM accepts every enabled [hyperv] flag; -ENOTSUP with err naming the
 * first refused key ("[hyperv] vpindex") otherwise; -errno when /dev/kvm cannot
 * be asked. kvm_path: normally "/dev/kvm". */
int kvm_probe_hyperv(const char *kvm_path, const struct vmdef_hyperv *hv, struct vl_error *err);
