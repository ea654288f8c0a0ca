#!/bin/bash
# swtpm dying while the guest runs is logged and ends the run with exit 12;
# QEMU is ended with it.
. "$(dirname "$0")/lib.sh"
require_swtpm

install_def vltest "$HERE/tpm.ini" "\$a state_dir = $TPM_DIR"
start_vm vltest
wait_for_log "is running" 40
qemu=$(state_get qemu_pid)
pid=$(swtpm_pids)
[ -n "$pid" ] || fail "no swtpm"
kill -KILL "$pid"
wait_vm_exit 15
[ "$VM_STATUS" = 12 ] || fail "swtpm killed: vmlaunch exited $VM_STATUS, expected 12"
grep -q "swtpm (the VM's TPM) exited while the guest ran" "$LOG" || fail "the log does not say swtpm died"
! kill -0 "$qemu" 2>/dev/null || fail "QEMU still runs"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok"
