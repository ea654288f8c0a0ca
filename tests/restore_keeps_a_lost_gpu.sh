#!/bin/bash
# `vmlaunch restore` after a killed run whose GPU no longer answers (config space all
# ones), on a hand-made root (VMLAUNCH_SYSROOT, a -Dtest-seams=true build): the health
# check of the journal's gpu_health record finds it, tries one reset, writes RUN_DIR/gpu-lost with this
# boot's ID, names the GPU and the reboot, and exits 16; the journal is gone, and a
# second restore has nothing left to do (exit 0).
set -u
: "${VMLAUNCH:?set by meson}"
grep -q -a -F VMLAUNCH_SYSROOT "$VMLAUNCH" || { echo "skipped: $VMLAUNCH was built without -Dtest-seams=true"; exit 77; }
tmp=$(mktemp -d /tmp/vmlaunch-restore-lost.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMLAUNCH_RUNTIME_DIR=$tmp/run VMLAUNCH_CONFIG_DIR=$tmp/etc VMLAUNCH_SYSROOT=$tmp/root
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok - $*"; }

root=$VMLAUNCH_SYSROOT
boot=0a0b0c0d-0000-4000-8000-000000000001
mkdir -p "$root/proc/sys/kernel/random" "$root/sys/module" "$VMLAUNCH_CONFIG_DIR"
echo "$boot" >"$root/proc/sys/kernel/random/boot_id"
gpu=$root/sys/bus/pci/devices/0000:06:00.0
mkdir -p "$gpu"
head -c 256 /dev/zero | tr '\0' '\377' >"$gpu/config"
: >"$gpu/reset" # a file here: the reset "succeeds" and changes nothing
mkdir -m 0700 -p "$VMLAUNCH_RUNTIME_DIR/win10"
printf 'vmlaunch-journal 1 vm=win10\ngpu_health desc=check%%20the%%20GPU devices=0000:06:00.0\n' \
  >"$VMLAUNCH_RUNTIME_DIR/win10/journal"
chmod 0600 "$VMLAUNCH_RUNTIME_DIR/win10/journal"

out=$("$VMLAUNCH" restore win10 2>&1)
status=$?
echo "$out"
[ "$status" = 16 ] && ok "restore exits 16" || fail "restore exited $status, expected 16"
grep -q "0000:06:00.0 is unhealthy (config space reads ffff:ffff.*trying one reset" <<<"$out" &&
  [ "$(cat "$gpu/reset")" = 1 ] && ok "restore tried one reset" || fail "restore did not try one reset"
grep -q "0000:06:00.0 did not come back healthy (config space reads ffff:ffff.*needs a host reboot" <<<"$out" &&
  ok "restore names the GPU and the reboot" || fail "restore does not name the lost GPU"
record=$VMLAUNCH_RUNTIME_DIR/win10/gpu-lost
[ "$(head -n 1 "$record" 2>/dev/null)" = "boot_id $boot" ] && ok "gpu-lost carries this boot's ID" ||
  fail "no gpu-lost record with this boot's ID"
[ -e "$VMLAUNCH_RUNTIME_DIR/win10/journal" ] && fail "the journal is still there" || ok "the journal is gone"
out=$("$VMLAUNCH" restore win10 2>&1)
status=$?
[ "$status" = 0 ] && ok "a second restore has nothing to do" || fail "second restore exited $status: $out"

[ "$failures" = 0 ] && echo "all passed" || { echo "$failures failed"; exit 1; }
