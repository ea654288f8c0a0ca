#!/bin/bash
# `vmlaunch restore` right after vmlaunch was killed with -9 while the guest ran: the
# run's QEMU may still be there, and restore ends it before it undoes anything (the
# release hook, the first undo, records whether that QEMU's pid is still alive).
#  1. a QEMU that does not exit on SIGTERM (as one still releasing a GPU would not yet
#     have): a stand-in that ignores SIGTERM takes the place of the run's QEMU in its
#     state file (pid and start time), since a real QEMU quits on the SIGTERM its
#     parent-death signal sends. restore logs SIGTERM, waits 10 s, logs SIGKILL, and
#     only once it is gone runs the release hook.
#  2. the real QEMU, restore started at once: QEMU is gone when the hook runs.
. "$(dirname "$0")/lib.sh"

# alive PID: the process exists and is not a zombie (which holds nothing any more)
alive() {
        local state
        state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
        [ -n "$state" ] && [ "$state" != Z ]
}

hooks=$TMP/hooks
mkdir -p "$hooks/vltest/release/end"
cat >"$hooks/vltest/release/end/10-is-qemu-gone" <<HOOK
#!/bin/sh
state=\$(sed 's/.*) //' /proc/\$(cat $TMP/qemu.pid)/stat 2>/dev/null | cut -c1)
if [ -n "\$state" ] && [ "\$state" != Z ]; then echo alive; else echo gone; fi >$TMP/qemu-at-release
echo "release hook ran"
HOOK
chmod 755 "$hooks/vltest/release/end/10-is-qemu-gone"
install_def vltest "$HERE/pinned.ini"
printf '\n[hooks]\ndir = %s\n' "$hooks" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"
state=$(RUN_DIR_OF vltest)/state

# kill_vmlaunch_while_running: starts the VM, kills its vmlaunch with -9 once the guest
# runs; sets qemu_pid.
kill_vmlaunch_while_running() {
        start_vm vltest
        wait_for_log "is running" 30
        local vmlaunch_pid
        vmlaunch_pid=$(state_get pid)
        qemu_pid=$(state_get qemu_pid)
        [ -n "$vmlaunch_pid" ] && [ -n "$qemu_pid" ] || fail "no pids in the state file"
        kill -KILL "$vmlaunch_pid"
        wait_vm_exit 10
}

# 1. a QEMU that ignores SIGTERM
kill_vmlaunch_while_running
deadline=$((SECONDS + 10))
while alive "$qemu_pid"; do
        [ $SECONDS -lt $deadline ] || fail "QEMU did not quit on its parent-death signal"
        sleep 0.05
done
bash -c "trap '' TERM HUP; exec sleep 1000" &
stuck=$!
start=$(sed 's/.*) //' "/proc/$stuck/stat" | cut -d' ' -f20)
sed -i -e "s/^qemu_pid=.*/qemu_pid=$stuck/" -e "s/^qemu_start=.*/qemu_start=$start/" "$state"
echo "$stuck" >"$TMP/qemu.pid"
out=$(timeout 40 "$VMLAUNCH" restore vltest 2>&1)
status=$?
alive "$stuck" && stuck_alive=yes || stuck_alive=no
kill -KILL "$stuck" 2>/dev/null
[ "$status" = 0 ] || fail "restore exited $status: $out"
[ "$stuck_alive" = no ] || fail "the stuck QEMU (pid $stuck) is alive after restore: $out"
[ "$(cat "$TMP/qemu-at-release" 2>/dev/null)" = gone ] ||
        fail "the stuck QEMU was alive when the release hook (the first undo) ran: $out"
grep -q "its QEMU (pid $stuck) still runs: ending it before restoring (SIGTERM)" <<<"$out" ||
        fail "restore did not say it ends QEMU: $out"
grep -q "QEMU (pid $stuck) still runs 10 s after SIGTERM: SIGKILL" <<<"$out" ||
        fail "restore did not say it killed QEMU: $out"
ended=$(grep -n "QEMU (pid $stuck) of vltest has ended" <<<"$out" | cut -d: -f1)
hook=$(grep -n "release hook ran\|release/end" <<<"$out" | head -1 | cut -d: -f1)
[ -n "$ended" ] && [ -n "$hook" ] && [ "$ended" -lt "$hook" ] ||
        fail "the log does not show QEMU ended before the first undo: $out"
[ ! -e "$(RUN_DIR_OF vltest)/journal" ] || fail "restore left the journal"

# 2. the real QEMU, restored at once
rm -f "$TMP/qemu-at-release"
kill_vmlaunch_while_running
echo "$qemu_pid" >"$TMP/qemu.pid"
out=$(timeout 40 "$VMLAUNCH" restore vltest 2>&1)
status=$?
[ "$status" = 0 ] || fail "restore exited $status: $out"
! alive "$qemu_pid" || fail "QEMU (pid $qemu_pid) is alive after restore: $out"
[ "$(cat "$TMP/qemu-at-release" 2>/dev/null)" = gone ] ||
        fail "QEMU was alive when the release hook (the first undo) ran: $out"
echo "ok"
