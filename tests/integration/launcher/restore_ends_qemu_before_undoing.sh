#!/bin/bash
# `vmlaunch restore` right after vmlaunch was killed with -9 while the guest ran: its
# QEMU is still there (stopped here with SIGSTOP, so it cannot exit on the SIGTERM
# PR_SET_PDEATHSIG sends it, as a QEMU busy releasing a GPU would not yet have). restore
# ends it (SIGTERM, a bounded wait, SIGKILL) before it undoes anything: the release hook,
# the first undo, sees QEMU's pid gone, and the log says so in that order.
. "$(dirname "$0")/lib.sh"

# alive PID: the process exists and is not a zombie
alive() {
        local state
        state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
        [ -n "$state" ] && [ "$state" != Z ]
}

hooks=$TMP/hooks
mkdir -p "$hooks/vltest/release/end"
cat >"$hooks/vltest/release/end/10-is-qemu-gone" <<HOOK
#!/bin/sh
# a zombie (exited, its new parent not done reaping it) holds nothing: gone
state=\$(sed 's/.*) //' /proc/\$(cat $TMP/qemu.pid)/stat 2>/dev/null | cut -c1)
if [ -n "\$state" ] && [ "\$state" != Z ]; then echo alive; else echo gone; fi >$TMP/qemu-at-release
echo "release hook ran"
HOOK
chmod 755 "$hooks/vltest/release/end/10-is-qemu-gone"
install_def vltest "$HERE/pinned.ini"
printf '\n[hooks]\ndir = %s\n' "$hooks" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest
wait_for_log "is running" 30
vmlaunch_pid=$(state_get pid)
qemu_pid=$(state_get qemu_pid)
[ -n "$vmlaunch_pid" ] && [ -n "$qemu_pid" ] || fail "no pids in the state file"
echo "$qemu_pid" >"$TMP/qemu.pid"

kill -STOP "$qemu_pid"
kill -KILL "$vmlaunch_pid"
wait_vm_exit 10
alive "$qemu_pid" || fail "QEMU did not outlive vmlaunch (the test needs it to)"

out=$(timeout 40 "$VMLAUNCH" restore vltest 2>&1)
status=$?
kill -CONT "$qemu_pid" 2>/dev/null
LOG_RESTORE=$out
[ "$status" = 0 ] || fail "restore exited $status: $out"
! alive "$qemu_pid" || fail "QEMU (pid $qemu_pid) is alive after restore: $out"
[ "$(cat "$TMP/qemu-at-release" 2>/dev/null)" = gone ] ||
        fail "QEMU was still alive when the release hook (the first undo) ran: $out"
grep -q "its QEMU (pid $qemu_pid) still runs: ending it before restoring (SIGTERM)" <<<"$out" ||
        fail "restore did not say it ends QEMU: $out"
grep -q "QEMU (pid $qemu_pid) still runs 10 s after SIGTERM: SIGKILL" <<<"$out" ||
        fail "restore did not say it killed QEMU: $out"
ended=$(grep -n "QEMU (pid $qemu_pid) of vltest has ended" <<<"$out" | cut -d: -f1)
hook=$(grep -n "release hook ran\|release/end" <<<"$out" | head -1 | cut -d: -f1)
[ -n "$ended" ] && [ -n "$hook" ] && [ "$ended" -lt "$hook" ] ||
        fail "the log does not show QEMU ended before the first undo: $out"
[ ! -e "$(RUN_DIR_OF vltest)/journal" ] || fail "restore left the journal"
echo "ok"
