#!/bin/bash
# kill -9 of QEMU is noticed at once through the pidfd: vmlaunch exits 7 and
# says QEMU was killed.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini"
start_vm vltest
wait_for_log "is running"
qemu=$(state_get qemu_pid)
kill -KILL "$qemu"
wait_vm_exit 3
[ "$VM_STATUS" = 7 ] || fail "vmlaunch exited $VM_STATUS, expected 7 (QEMU crashed)"
grep -q "QEMU was killed by SIGKILL" "$LOG" || fail "the log does not say QEMU was killed"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok"
