#!/bin/bash
# A guest that powers itself off ends the run with exit 0: QEMU reports
# SHUTDOWN (guest-shutdown) and exits, and vmlaunch says the guest powered off.
. "$(dirname "$0")/lib.sh"

# mov dx, 0x604 (PM1a_CNT on q35: PMBASE 0x600 + 4); mov ax, 0x2000 (SLP_EN,
# SLP_TYP 0 = soft off); out dx, ax; hlt; jmp hlt. Then the 0x55AA signature.
image=$TMP/poweroff.img
printf '\xba\x04\x06\xb8\x00\x20\xef\xf4\xeb\xfd' >"$image"
truncate -s 510 "$image"
printf '\x55\xaa' >>"$image"
truncate -s 1M "$image"

install_def vltest "$HERE/poweroff.ini" "s|@IMAGE@|$image|"
start_vm vltest
wait_vm_exit 30
[ "$VM_STATUS" = 0 ] || fail "vmlaunch exited $VM_STATUS, expected 0 (guest powered off)"
grep -q "the guest powered off (guest-shutdown)" "$LOG" || fail "no guest poweroff in the log"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok"
