#!/bin/bash
# A vCPU pinned to a CPU the host does not have stops the launch cleanly before
# the guest runs: exit 6 naming the vCPU and the CPU, QEMU gone, no run dir left.
. "$(dirname "$0")/lib.sh"
missing=$(( $(nproc --all) + 7 ))

install_def vltest "$HERE/pinned.ini" "s/^vcpu_pin = .*/vcpu_pin = 1,$missing/"
start_vm vltest
wait_vm_exit 20
[ "$VM_STATUS" = 6 ] || fail "vmlaunch exited $VM_STATUS, expected 6"
grep -q "pin vCPU 1 (tid [0-9]*) to CPU $missing" "$LOG" || fail "the error does not name vCPU 1 and CPU $missing"
! grep -q "is running" "$LOG" || fail "the guest was let run"
qemu=$(sed -n 's/^started QEMU .*(pid \([0-9]*\),.*/\1/p' "$LOG")
[ -n "$qemu" ] || fail "QEMU was not started"
! kill -0 "$qemu" 2>/dev/null || fail "QEMU (pid $qemu) still runs"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok"
