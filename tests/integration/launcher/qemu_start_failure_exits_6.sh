#!/bin/bash
# QEMU refusing its command line is a start failure: vmlaunch exits 6 with
# QEMU's own error message, and leaves no QEMU and no run dir behind.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini" '/^\[qemu\]/a args = -device no-such-device-model'
start_vm vltest
wait_vm_exit 20
[ "$VM_STATUS" = 6 ] || fail "vmlaunch exited $VM_STATUS, expected 6"
grep -q "QEMU failed to start: QEMU exited with status 1 before it was ready: .*no-such-device-model" "$LOG" ||
        fail "the error does not quote QEMU"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok"
