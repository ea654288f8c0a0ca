/* Is KVM usable for a guest, beyond /dev/kvm opening? Some hosts (nested or
 * restricted hypervisors) create VMs but refuse what QEMU does at vCPU reset, and
 * QEMU then aborts with an assertion. `accel = auto` asks here first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when a throwaway vCPU runs a real-mode `hlt` to completion and accepts the
 * feature MSRs QEMU sets for `-cpu host`/`max` (IA32_ARCH_CAPABILITIES). Otherwise
 * false with one line in why ("KVM refuses MSR 0x10a (IA32_ARCH_CAPABILITIES)"). */
bool kvm_usable(const char *kvm_path, bool host_features, char *why, size_t why_len);
