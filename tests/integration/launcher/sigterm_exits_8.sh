#!/bin/bash
# SIGTERM to vmlaunch (what systemd sends) shuts the guest down and vmlaunch
# exits 8 (stopped); QEMU is gone afterwards.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini" "s/^shutdown_timeout = .*/shutdown_timeout = 1/"
start_vm vltest
wait_for_log "is running"
vmlaunch_pid=$(state_get pid)
qemu=$(state_get qemu_pid)
kill -TERM "$vmlaunch_pid"
wait_vm_exit 10
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8 (stopped)"
grep -q "SIGTERM: shutting the guest down" "$LOG" || fail "SIGTERM was not logged"
! kill -0 "$qemu" 2>/dev/null || fail "QEMU (pid $qemu) still runs"
echo "ok"
