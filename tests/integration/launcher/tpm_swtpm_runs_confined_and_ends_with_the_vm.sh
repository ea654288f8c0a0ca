#!/bin/bash
# [tpm] enabled = yes: swtpm_setup makes the TPM once, swtpm runs as QEMU's user
# (no capabilities, no_new_privs, its own seccomp filter) while the VM does, QEMU
# shows a tpm-crb emulator, and swtpm is gone after `stop`, after QEMU is killed
# (exit 7) and after vmlaunch is killed; the TPM (its EK certificates) survives.
. "$(dirname "$0")/lib.sh"
require_swtpm

install_def vltest "$HERE/tpm.ini" "\$a state_dir = $TPM_DIR"

# 1: first run, stopped with `vmlaunch stop`
start_vm vltest
wait_for_log "is running" 40
grep -q "created the VM's TPM 2.0 in $TPM_DIR/state" "$LOG" || fail "no line about the TPM being created"
out=$(timeout 10 "$VMLAUNCH" qmp vltest '{"execute":"query-tpm"}') || fail "query-tpm: $out"
python3 -c '
import json, sys
tpms = json.loads(sys.argv[1])
assert [(t["model"], t["options"]["type"]) for t in tpms] == [("tpm-crb", "emulator")], tpms
' "$out" || fail "query-tpm does not list one tpm-crb emulator: $out"
pid=$(swtpm_pids)
[ -n "$pid" ] && [ "$(wc -w <<<"$pid")" = 1 ] || fail "expected one swtpm, found: '$pid'"
status=/proc/$pid/status
[ "$(stat -c %U "/proc/$pid")" = vmlaunch-qemu ] || fail "swtpm runs as $(stat -c %U "/proc/$pid")"
grep -q '^NoNewPrivs:[[:space:]]*1' "$status" || fail "swtpm lacks no_new_privs"
grep -q '^Seccomp:[[:space:]]*2' "$status" || fail "swtpm has no seccomp filter"
for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
        grep -q "^$cap:[[:space:]]*0000000000000000" "$status" || fail "swtpm has $(grep "^$cap" "$status")"
done
[ "$(stat -c %U:%a "$TPM_DIR")" = root:711 ] || fail "state dir is $(stat -c %U:%a "$TPM_DIR")"
[ "$(stat -c %U:%a "$TPM_DIR/state")" = vmlaunch-qemu:700 ] || fail "state/ is $(stat -c %U:%a "$TPM_DIR/state")"
timeout 10 "$VMLAUNCH" stop vltest >/dev/null || fail "stop failed"
wait_vm_exit 15
[ "$VM_STATUS" = 8 ] || fail "stop: vmlaunch exited $VM_STATUS, expected 8"
wait_swtpm_gone 1
ek1=$(python3 "$HERE/tpm_ek_certs.py" "$TPM_DIR/state/tpm2-00.permall")
[ "$(wc -l <<<"$ek1")" = 2 ] || fail "expected an RSA and an ECC EK certificate in the state, found: $ek1"

# 2: second run, QEMU killed: exit 7, swtpm gone, the same TPM
start_vm vltest
wait_for_log "is running" 40
! grep -q "created the VM's TPM" "$LOG" || fail "the second run made the TPM again"
[ -n "$(swtpm_pids)" ] || fail "no swtpm in the second run"
kill -KILL "$(state_get qemu_pid)"
wait_vm_exit 10
[ "$VM_STATUS" = 7 ] || fail "QEMU killed: vmlaunch exited $VM_STATUS, expected 7"
wait_swtpm_gone 1
ek2=$(python3 "$HERE/tpm_ek_certs.py" "$TPM_DIR/state/tpm2-00.permall")
[ "$ek1" = "$ek2" ] || fail "the EK certificates changed between runs"

# 3: vmlaunch itself killed (the pid in the state file, not the timeout wrapper)
start_vm vltest
wait_for_log "is running" 40
[ -n "$(swtpm_pids)" ] || fail "no swtpm in the third run"
vmlaunch_pid=$(state_get pid)
[ -n "$vmlaunch_pid" ] || fail "no vmlaunch pid in the state file"
kill -KILL "$vmlaunch_pid"
wait_vm_exit 10
wait_swtpm_gone 10
timeout 20 "$VMLAUNCH" restore vltest >/dev/null 2>&1 || fail "restore after the killed run failed"
echo "ok"
