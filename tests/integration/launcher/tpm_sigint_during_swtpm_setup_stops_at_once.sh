#!/bin/bash
# SIGINT while swtpm_setup makes the TPM (first run): vmlaunch ends it (and the
# swtpm it runs) at once, exits 8 and leaves no TPM half made and no process.
. "$(dirname "$0")/lib.sh"
require_swtpm

install_def vltest "$HERE/tpm.ini" "\$a state_dir = $TPM_DIR"
start_vm vltest
deadline=$((SECONDS + 20))
until pgrep -f -- "swtpm_setup --tpm2 --tpmstate $TPM_DIR/state" >/dev/null; do
        kill -0 "$VM_PID" 2>/dev/null || fail "vmlaunch ended before swtpm_setup ran"
        [ $SECONDS -lt $deadline ] || fail "no swtpm_setup after 20 s"
        sleep 0.01
done
# the pid from the state file: `timeout` would not pass SIGINT on
kill -INT "$(state_get pid)"
wait_vm_exit 10
[ "$VM_STATUS" = 8 ] || fail "SIGINT during swtpm_setup: vmlaunch exited $VM_STATUS, expected 8"
grep -q "asked to stop while swtpm_setup ran" "$LOG" || fail "the log does not say why it stopped"
! pgrep -f -- "$TPM_DIR" >/dev/null || fail "left running: $(pgrep -af -- "$TPM_DIR")"
[ ! -e "$TPM_DIR/state/tpm2-00.permall" ] || fail "a TPM state was written although setup was stopped"
echo "ok"
