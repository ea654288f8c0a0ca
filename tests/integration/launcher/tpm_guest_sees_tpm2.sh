#!/bin/bash
# [tpm] enabled = yes seen from inside a real guest (issue 13): vmlaunch runs the
# tests' Linux guest (Debian's kernel, whose built-in tpm_crb driver binds the
# tpm-crb device through QEMU's ACPI TPM2 table) and the guest reads
# /sys/class/tpm/tpm0/tpm_version_major = 2; `vmlaunch stop` ends the run (exit 8,
# the guest obeys ACPI) and swtpm with it. The same VM without [tpm] shows the guest
# without a TPM, so the first half would fail if the TPM were missing.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?set by meson}"
require_swtpm
linux_guest # sets kernel and initrd

# run_guest TPM_ENABLED: one run to "guest ready", its console in $LOG, then stopped.
run_guest() {
        install_linux_guest vltest vlguest.acpi=on
        printf '\n[tpm]\nenabled = %s\nstate_dir = %s\n' "$1" "$TPM_DIR" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"
        start_vm vltest 600
        wait_for_log "is running" 120
        wait_for_log "guest ready" 300
        [ "$1" = no ] || [ -n "$(swtpm_pids)" ] || fail "no swtpm runs with the VM"
        out=$(timeout 120 "$VMLAUNCH" stop vltest 2>&1) || fail "stop failed: $out"
        wait_vm_exit 60
        [ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8 (stopped on request)"
        grep -q "guest: power button pressed, powering off" "$LOG" || fail "the guest ignored ACPI"
        wait_swtpm_gone 10
}

run_guest yes
grep -q "guest: tpm_version_major=2$" <(tr -d '\r' <"$LOG") ||
        fail "the guest did not find a TPM 2.0: $(grep -a "guest: .*tpm" "$LOG")"

run_guest no
grep -q "guest: no tpm$" <(tr -d '\r' <"$LOG") ||
        fail "without [tpm] the guest still saw: $(grep -a "guest: .*tpm" "$LOG")"
echo "ok: the guest saw a TPM 2.0 with [tpm] and none without"
