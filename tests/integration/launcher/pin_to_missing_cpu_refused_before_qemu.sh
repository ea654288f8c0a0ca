#!/bin/bash
# A vCPU pinned to a CPU the host does not have is refused by the host check,
# before anything is prepared or QEMU exists: exit 4 naming the key and the CPU,
# no QEMU started, no run dir left. (A pin that fails later, at sched_setaffinity,
# is covered by test_pin.)
. "$(dirname "$0")/lib.sh"
missing=$(( $(nproc --all) + 7 ))

install_def vltest "$HERE/pinned.ini" "s/^vcpu_pin = .*/vcpu_pin = 1,$missing/"
start_vm vltest
wait_vm_exit 20
[ "$VM_STATUS" = 4 ] || fail "vmlaunch exited $VM_STATUS, expected 4"
grep -q "\[cpu\] vcpu_pin: CPU $missing does not exist on this host" "$LOG" ||
  fail "the error does not name [cpu] vcpu_pin and CPU $missing"
! grep -q "^started QEMU" "$LOG" || fail "QEMU was started"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok"
