#!/bin/bash
# `vmlaunch stop` presses the ACPI power button; a guest with nothing to boot
# ignores it, so QEMU gets `quit` once the shutdown timeout (2 s) has passed.
# stop waits for vmlaunch, which exits 8 (stopped) and leaves nothing behind.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini"
start_vm vltest
wait_for_log "is running"
qemu=$(state_get qemu_pid)

start=$SECONDS
out=$(timeout 30 "$VMLAUNCH" stop vltest 2>&1) || fail "stop failed: $out"
wait_vm_exit 10
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8 (stopped)"
[ $((SECONDS - start)) -ge 1 ] || fail "QEMU quit before the shutdown timeout"
grep -q "ACPI power button" "$LOG" || fail "no ACPI powerdown was tried"
grep -q "did not shut down within 2 s: quitting QEMU" "$LOG" || fail "no quit after the timeout"
grep -q "host-qmp-quit" "$LOG" || fail "QEMU did not shut down through quit"
! kill -0 "$qemu" 2>/dev/null || fail "QEMU (pid $qemu) still runs"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"

out=$(timeout 10 "$VMLAUNCH" stop vltest 2>&1) || fail "stop of a stopped VM failed: $out"
grep -q "not running" <<<"$out" || fail "stop of a stopped VM said: $out"
echo "ok"
