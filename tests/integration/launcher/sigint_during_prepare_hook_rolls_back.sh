#!/bin/bash
# Ctrl-C while the host is being prepared: a prepare hook runs (here one that sends
# SIGINT to vmlaunch, as a terminal would, and then hangs). vmlaunch ends the hook and
# what it started, rolls back (the release hook runs), starts no QEMU and exits 8
# at once instead of after [hooks] timeout; no journal is left behind.
. "$(dirname "$0")/lib.sh"

hooks=$TMP/hooks
mkdir -p "$hooks/vltest/prepare/begin" "$hooks/vltest/release/end"
cat >"$hooks/vltest/prepare/begin/10-ctrl-c" <<HOOK
#!/bin/sh
sleep 1000 &
echo \$! >$TMP/hook-child.pid
kill -INT \$PPID
exec sleep 1000
HOOK
printf '#!/bin/sh\necho "$VMLAUNCH_STAGE" >%s/released\n' "$TMP" >"$hooks/vltest/release/end/10-log"
chmod 755 "$hooks/vltest/prepare/begin/10-ctrl-c" "$hooks/vltest/release/end/10-log"
install_def vltest "$HERE/pinned.ini"
printf '\n[hooks]\ndir = %s\n' "$hooks" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest
wait_vm_exit 30
[ "$VM_STATUS" = 8 ] || fail "run exited $VM_STATUS, expected 8 (stopped by a signal)"
grep -q "stopped on request while preparing the host (hooks: hook .*10-ctrl-c (prepare/begin) was ended: vmlaunch was asked to stop); what was done has been undone" "$LOG" ||
        fail "the log does not say it stopped while preparing"
! grep -q "^started QEMU\|is running" "$LOG" || fail "QEMU was started"
[ "$(cat "$TMP/released" 2>/dev/null)" = release/end ] || fail "the release hook did not run"
[ ! -e "$(RUN_DIR_OF vltest)/journal" ] || fail "a journal was left behind"
child=$(cat "$TMP/hook-child.pid")
for _ in $(seq 100); do
        kill -0 "$child" 2>/dev/null || break
        sleep 0.05
done
! kill -0 "$child" 2>/dev/null || fail "the hook's background process $child survived"
echo "ok"
