#!/bin/bash
# QEMU's user gets what QEMU writes for the run and gives it back (issue 12, item 2):
# while the VM runs, its disk (a user's, 0440) and its UEFI vars file belong to
# [qemu] user (vmlaunch-qemu) with owner read-write; after `vmlaunch stop` both have
# exactly their owner, group and mode of before. The read-only OVMF code is not
# touched.
. "$(dirname "$0")/lib.sh"

QEMU_USER=vmlaunch-qemu
id "$QEMU_USER" >/dev/null 2>&1 || fail "user $QEMU_USER does not exist (tools/install-deps creates it)"
CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
TEMPLATE=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -r "$CODE" ] && [ -r "$TEMPLATE" ] || skip "OVMF (package ovmf) is not installed"

disk=$TMP/data.img
truncate -s 1M "$disk"
chown 1234:5678 "$disk"
chmod 0440 "$disk"
mkdir -m 0755 "$TMP/vars"
vars=$TMP/vars/VARS.fd
code_before=$(stat -c '%u:%g %a' "$CODE")

install_def vltest "$HERE/pinned.ini"
sed -i "s|^type = bios|type = uefi\ncode = $CODE\nvars_template = $TEMPLATE\nvars = $vars|" \
        "$VMLAUNCH_CONFIG_DIR/vltest.ini"
printf '\n[disk.data]\npath = %s\nformat = raw\ncache = writeback\naio = threads\n' "$disk" \
        >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest
wait_for_log "is running" 60
uid=$(id -u "$QEMU_USER") gid=$(id -g "$QEMU_USER")
[ "$(stat -c '%u:%g %a' "$disk")" = "$uid:$gid 640" ] ||
        fail "the disk is $(stat -c '%u:%g %a' "$disk") while the VM runs, expected $uid:$gid 640"
[ "$(stat -c '%u:%g %a' "$vars")" = "$uid:$gid 600" ] ||
        fail "the vars file is $(stat -c '%u:%g %a' "$vars") while the VM runs, expected $uid:$gid 600"
grep -q "handed $disk to $QEMU_USER (was 1234:5678 440)" "$LOG" || fail "no hand-over line in the log"

timeout 30 "$VMLAUNCH" stop --force vltest >/dev/null 2>&1 || fail "stop failed"
wait_vm_exit 20
[ "$(stat -c '%u:%g %a' "$disk")" = "1234:5678 440" ] ||
        fail "the disk is $(stat -c '%u:%g %a' "$disk") after the run, expected 1234:5678 440"
[ "$(stat -c '%u:%g %a' "$vars")" = "0:0 600" ] ||
        fail "the vars file is $(stat -c '%u:%g %a' "$vars") after the run, expected 0:0 600"
[ "$(stat -c '%u:%g %a' "$CODE")" = "$code_before" ] || fail "the OVMF code was changed"
echo "ok"
