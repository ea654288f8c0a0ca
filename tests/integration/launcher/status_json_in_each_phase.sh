#!/bin/bash
# `status --json` answers in every phase of a run, each held open by a hook or by a
# guest that ignores ACPI: preparing (the step at work), starting (QEMU's pid, no
# guest yet), running (the guest, its start, the threads), stopping, restoring, then
# stopped once vmlaunch is gone (exit 1); and needs-restore when vmlaunch was killed
# and left its journal.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

hooks=$TMP/hooks
for stage in prepare/begin started/begin release/end; do
        mkdir -p "$hooks/vltest/$stage"
        gate=$TMP/go-${stage%%/*}
        printf '#!/bin/sh\nwhile [ ! -e %s ]; do sleep 0.05; done\n' "$gate" >"$hooks/vltest/$stage/10-hold"
        chmod 755 "$hooks/vltest/$stage/10-hold"
done
install_def vltest "$HERE/pinned.ini" "s/^shutdown_timeout = .*/shutdown_timeout = 120/"
printf '\n[hooks]\ndir = %s\n' "$hooks" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

# expect_status EXIT PYTHON-CONDITION: status --json exits EXIT and the object o
# satisfies the condition.
expect_status() {
        local out status
        out=$(timeout 60 "$VMLAUNCH" status --json vltest 2>&1)
        status=$?
        [ "$status" = "$1" ] || fail "status --json exited $status, expected $1: $out"
        python3 -c "import json, sys; o = json.loads(sys.argv[1]); assert $2, o" "$out" ||
                fail "status --json does not satisfy $2: $out"
}

start_vm vltest
wait_for_state preparing 60 hooks
expect_status 0 'o["name"] == "vltest" and o["state"] == "preparing" and o["step"] == "hooks" and o["running"] is True and o["pid"] > 0 and o["qemu_pid"] is None and o["guest"] is None and o["started"] is None and o["uptime_s"] == 0'
touch "$TMP/go-prepare"

wait_for_state starting 60
expect_status 0 'o["state"] == "starting" and o["step"] is None and o["qemu_pid"] > 0 and o["started"] is None and o["ready"] is False'
touch "$TMP/go-started"

wait_for_state running 60
expect_status 0 'o["state"] == "running" and o["guest"] == "running" and o["ready"] is True and o["started"] > 0 and o["uptime_s"] >= 0 and len(o["threads"]) == 3 and "error" not in o'

# SIGTERM: ACPI, which this guest ignores for shutdown_timeout.
kill -TERM "$(state_get pid)"
wait_for_state stopping 60
expect_status 0 'o["state"] == "stopping" and o["running"] is True and o["qemu_pid"] > 0'
timeout 60 "$VMLAUNCH" stop --force vltest >/dev/null 2>&1 &

wait_for_state restoring 60
expect_status 0 'o["state"] == "restoring" and o["running"] is True'
touch "$TMP/go-release"
wait_vm_exit 60
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8"
expect_status 1 'o["state"] == "stopped" and o["running"] is False and o["pid"] is None and o["qemu_pid"] is None and o["threads"] is None'

# vmlaunch killed: its journal stays, no vmlaunch runs.
rm -f "$TMP"/go-*
touch "$TMP/go-prepare" "$TMP/go-started"
start_vm vltest
wait_for_state running 60
qemu=$(state_get qemu_pid)
kill -KILL "$(state_get pid)"
wait_vm_exit 30
expect_status 1 'o["state"] == "needs-restore" and o["running"] is False and o["pid"] is None'
touch "$TMP/go-release"
timeout 60 "$VMLAUNCH" restore vltest >/dev/null 2>&1 || fail "restore failed"
expect_status 1 'o["state"] == "stopped"'
echo "ok"
