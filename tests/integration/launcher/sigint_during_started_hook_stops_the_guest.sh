#!/bin/bash
# Ctrl-C while a started/begin hook runs (here the hook sends it, then hangs): the
# hook is ended instead of holding vmlaunch for [hooks] timeout, and the signal then
# shuts the guest down as usual: exit 8, QEMU gone.
. "$(dirname "$0")/lib.sh"

hooks=$TMP/hooks
mkdir -p "$hooks/vltest/started/begin"
printf '#!/bin/sh\nkill -INT $PPID\nexec sleep 1000\n' >"$hooks/vltest/started/begin/10-ctrl-c"
chmod 755 "$hooks/vltest/started/begin/10-ctrl-c"
install_def vltest "$HERE/pinned.ini" "s/^shutdown_timeout = .*/shutdown_timeout = 1/"
printf '\n[hooks]\ndir = %s\n' "$hooks" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest
wait_for_log "started QEMU"
qemu=$(state_get qemu_pid)
wait_vm_exit 30
[ "$VM_STATUS" = 8 ] || fail "run exited $VM_STATUS, expected 8 (stopped)"
grep -q "started hook: hooks\?.*10-ctrl-c (started/begin) was ended: vmlaunch was asked to stop" "$LOG" ||
        fail "the log does not say the started hook was ended"
grep -q "SIGINT: shutting the guest down" "$LOG" || fail "the SIGINT did not stop the guest"
! kill -0 "$qemu" 2>/dev/null || fail "QEMU (pid $qemu) still runs"
echo "ok"
