#!/bin/bash
# A QEMU too old for the definition is refused before the host is touched,
# naming the feature (exit 4), on the first run (version probed) and on the
# next (version from the runtime dir's cache). A QEMU whose greeting disagrees
# with the cache is believed, and the guest still runs when the real version
# is new enough.
. "$(dirname "$0")/lib.sh"

old_qemu=$TMP/old-qemu
printf '#!/bin/sh\necho "QEMU emulator version 4.2.1 (fake)"\n' >"$old_qemu"
chmod 0755 "$old_qemu"
install_def vltest "$HERE/pinned.ini" "s|^\[qemu\]|[qemu]\nbinary = $old_qemu|"

for attempt in probed cached; do
        "$VMLAUNCH" run vltest >"$LOG" 2>&1
        status=$?
        [ "$status" = 4 ] || fail "$attempt: vmlaunch exited $status, expected 4 (host check)"
        grep -q "running any VM (-machine memory-backend=) needs QEMU 5.0 or newer, this is QEMU 4.2.1" "$LOG" ||
                fail "$attempt: the refusal does not name the feature"
        grep -q "started QEMU" "$LOG" && fail "$attempt: QEMU was started"
done
grep -q "4020[1] .* $old_qemu\$" "$VMLAUNCH_RUNTIME_DIR/.qemu-versions" ||
        fail "the version is not cached in $VMLAUNCH_RUNTIME_DIR/.qemu-versions"

# The cache says 9.9.0 for a wrapper around the real QEMU, whose greeting wins.
wrapper=$TMP/qemu-wrapper
printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v "$QEMU_BIN")" >"$wrapper"
chmod 0755 "$wrapper"
install_def vltest "$HERE/pinned.ini" "s|^\[qemu\]|[qemu]\nbinary = $wrapper|"
start_vm vltest
wait_for_log "is running"
out=$(timeout 20 "$VMLAUNCH" stop --force vltest 2>&1) || fail "stop failed: $out"
wait_vm_exit 10
grep -q "QEMU's greeting says version" "$LOG" && fail "a probed version disagreed with the greeting"
sed -i "s|^[0-9]* \(.* $wrapper\)\$|90900 \1|" "$VMLAUNCH_RUNTIME_DIR/.qemu-versions"
grep -q "^90900 .* $wrapper\$" "$VMLAUNCH_RUNTIME_DIR/.qemu-versions" || fail "could not fake the cache"
: >"$LOG" # not the previous run's "is running"
start_vm vltest
wait_for_log "is running"
grep -q "started QEMU 9.9.0" "$LOG" || fail "the cached version was not used"
grep -q "QEMU's greeting says version [0-9]*\.[0-9]*\.[0-9]*, not 9.9.0" "$LOG" ||
        fail "the greeting did not correct the cached version"
out=$(timeout 20 "$VMLAUNCH" stop --force vltest 2>&1) || fail "stop failed: $out"
wait_vm_exit 10
echo "ok"
