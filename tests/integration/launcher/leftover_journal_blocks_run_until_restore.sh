#!/bin/bash
# A journal left by a killed vmlaunch means the host may still be prepared: `run`
# refuses (exit 10) naming `vmlaunch restore`, before any check or QEMU; after the
# restore, which deletes the journal, the VM runs again.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini"
dir=$(RUN_DIR_OF vltest)
mkdir -p "$dir" && chmod 700 "$dir"
printf 'vmlaunch-journal 1 vm=vltest\n' >"$dir/journal"

out=$(timeout 10 "$VMLAUNCH" run vltest 2>&1)
status=$?
[ "$status" = 10 ] || fail "run with a journal exited $status, expected 10: $out"
grep -q "run \`vmlaunch restore vltest\` first" <<<"$out" || fail "run said: $out"
! grep -q "^started QEMU" <<<"$out" || fail "QEMU was started: $out"
[ -e "$dir/journal" ] || fail "run removed the journal"

timeout 10 "$VMLAUNCH" restore vltest >/dev/null 2>&1 || fail "restore failed"
[ ! -e "$dir/journal" ] || fail "restore left the journal"

start_vm vltest
wait_for_log "is running"
timeout 30 "$VMLAUNCH" stop --force vltest >/dev/null 2>&1 || fail "stop failed"
wait_vm_exit 10
echo "ok"
