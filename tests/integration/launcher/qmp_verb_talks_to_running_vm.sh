#!/bin/bash
# `vmlaunch qmp NAME JSON` runs one command over ctl.qmp and prints the reply;
# a QMP error is reported with exit 1; `quit` through it ends the run as stopped.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini"
start_vm vltest
wait_for_log "is running"
[ "$(stat -c %a "$(RUN_DIR_OF vltest)/ctl.qmp")" = 600 ] || fail "ctl.qmp is not mode 0600"
[ "$(stat -c %a "$(RUN_DIR_OF vltest)")" = 700 ] || fail "the run dir is not mode 0700"

out=$(timeout 10 "$VMLAUNCH" qmp vltest '{"execute": "query-status"}') || fail "qmp: $out"
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["status"] == "running"' "$out" ||
        fail "query-status said: $out"
out=$(timeout 10 "$VMLAUNCH" qmp vltest query-name) || fail "qmp with a bare name: $out"
grep -q '"vltest"' <<<"$out" || fail "query-name said: $out"
out=$(timeout 10 "$VMLAUNCH" qmp vltest '{"execute": "no-such-command"}' 2>&1)
[ $? = 1 ] || fail "a failing command did not exit 1: $out"
grep -q "CommandNotFound" <<<"$out" || fail "the QMP error was not shown: $out"

timeout 10 "$VMLAUNCH" qmp vltest quit >/dev/null || fail "qmp quit failed"
wait_vm_exit 10
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS after quit over ctl.qmp, expected 8"
echo "ok"
