#!/bin/bash
# SIGINT while swtpm_setup makes the TPM (first run): vmlaunch ends it (and the
# swtpm it runs) at once, exits 8 and leaves no TPM half made and no process.
# The next run clears what an unfinished setup left and makes a whole TPM.
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
[ ! -e "$TPM_DIR/state.new" ] || fail "the unfinished TPM was left in state.new: $(ls -la "$TPM_DIR/state.new")"

# what a setup killed with vmlaunch leaves (or an older vmlaunch: state/ without a TPM)
install -d -o vmlaunch-qemu -m 700 "$TPM_DIR/state" "$TPM_DIR/state.new"
echo half >"$TPM_DIR/state.new/tpm2-00.permall"
touch "$TPM_DIR/state/.lock"
start_vm vltest
wait_for_log "is running" 40
grep -q "created the VM's TPM 2.0" "$LOG" || fail "the run after an unfinished setup did not make the TPM"
[ ! -e "$TPM_DIR/state.new" ] || fail "state.new is still there after a whole setup"
[ "$(wc -l < <(python3 "$HERE/tpm_ek_certs.py" "$TPM_DIR/state/tpm2-00.permall"))" = 2 ] ||
        fail "the TPM made after an unfinished setup lacks its EK certificates"
timeout 10 "$VMLAUNCH" stop vltest >/dev/null || fail "stop failed"
wait_vm_exit 15
[ "$VM_STATUS" = 8 ] || fail "stop: vmlaunch exited $VM_STATUS, expected 8"
echo "ok"
