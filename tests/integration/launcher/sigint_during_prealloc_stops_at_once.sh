#!/bin/bash
# Ctrl-C while QEMU is still preallocating guest RAM (before its monitor
# answers) is not queued behind the start: vmlaunch ends QEMU and exits 8
# without ever letting the guest run, in well under the time preallocating takes.
. "$(dirname "$0")/lib.sh"

# Zeroing 4 GiB takes QEMU several seconds even on an idle machine; a run that
# waited for the greeting before looking at its signals would take that long.
bound_ms=3000
install_def vltest "$HERE/pinned.ini" 's/^size = 128M/size = 4G\nprealloc = on/'
start_vm vltest
wait_for_log "started QEMU"
t0=$(date +%s%N)
kill -INT "$(state_get pid)"
wait_vm_exit 60
took_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8"
! grep -q "is running" "$LOG" || fail "the guest ran: SIGINT waited for QEMU's start ($took_ms ms)"
grep -q "stopped on request before the guest ran" "$LOG" || fail "the early stop was not logged"
[ "$took_ms" -lt "$bound_ms" ] || fail "vmlaunch took $took_ms ms to stop after SIGINT, expected < $bound_ms ms"
echo "ok: stopped $took_ms ms after SIGINT"
