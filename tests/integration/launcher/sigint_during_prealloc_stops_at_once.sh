#!/bin/bash
# Ctrl-C while QEMU is still preallocating guest RAM (before its monitor
# answers) is not queued behind the start: vmlaunch ends QEMU and exits 8
# without ever letting the guest run.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini" 's/^size = 128M/size = 3G\nprealloc = on/'
start_vm vltest
wait_for_log "started QEMU"
kill -INT "$(state_get pid)"
wait_vm_exit 10
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8"
if grep -q "is running" "$LOG"; then
        skip "QEMU finished preallocating before the signal arrived"
fi
grep -q "stopped on request before the guest ran" "$LOG" || fail "the early stop was not logged"
echo "ok"
