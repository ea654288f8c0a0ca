#!/bin/bash
# One VM name runs once at a time: a second `run` exits 10 (busy) and names
# the pid of the vmlaunch that holds the lock.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini"
start_vm vltest
wait_for_log "is running"
holder=$(state_get pid)
out=$(timeout 10 "$VMLAUNCH" run vltest 2>&1)
status=$?
[ "$status" = 10 ] || fail "second run exited $status, expected 10: $out"
grep -q "already running (vmlaunch pid $holder, since " <<<"$out" || fail "second run said: $out"
kill -0 "$VM_PID" || fail "the first run ended"
timeout 30 "$VMLAUNCH" stop --force vltest >/dev/null 2>&1 || fail "stop failed"
wait_vm_exit 10
echo "ok"
