#!/bin/bash
# A KVM that refuses a requested Hyper-V enlightenment is caught before QEMU
# starts: vmlaunch exits 4 (host check) naming the [hyperv] key to turn off.
# (The build machines' KVM refuses vpindex, synic, time and vapic.)
. "$(dirname "$0")/lib.sh"
[ -w /dev/kvm ] || skip "no usable /dev/kvm"

install_def vltest "$HERE/pinned.ini" \
        's/^accel = tcg/accel = kvm/; s/^enabled = off/enabled = on\nrelaxed = on\nvpindex = on/'
start_vm vltest
wait_vm_exit 20
if [ "$VM_STATUS" != 4 ]; then
        grep -q "is running" "$LOG" && skip "this host's KVM accepts hv-vpindex"
        fail "vmlaunch exited $VM_STATUS, expected 4"
fi
grep -q "\[hyperv\] [a-z_]*: this host's KVM refuses it" "$LOG" || fail "no refused flag named"
! grep -q "started QEMU" "$LOG" || fail "QEMU was started anyway"
echo "ok"
