#!/bin/bash
# [firmware] secure_boot = yes without code or vars_template (issue 13, item 2): plan
# and check name Debian's enrolled-keys descriptor, a real QEMU under TCG runs that
# OVMF build with smm=on and secure pflash, the VM's vars are made from its template
# (Microsoft's keys), and the guest runs. Then the same VM with a vars file made from
# the keyless template is refused by check and run, naming the file, before QEMU.
. "$(dirname "$0")/lib.sh"

DESCRIPTOR=/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json
CODE=/usr/share/OVMF/OVMF_CODE_4M.ms.fd
TEMPLATE=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
[ -r "$DESCRIPTOR" ] && [ -r "$CODE" ] && [ -r "$TEMPLATE" ] ||
        skip "Debian's Secure Boot OVMF (package ovmf) is not installed"

mkdir -m 0755 "$TMP/vars"
vars=$TMP/vars/VARS.fd
install_def vltest "$HERE/pinned.ini"
sed -i "s|^type = bios|type = uefi\nsecure_boot = yes\nvars = $vars|" "$VMLAUNCH_CONFIG_DIR/vltest.ini"

plan=$(timeout 20 "$VMLAUNCH" plan vltest 2>&1) || fail "plan failed: $plan"
grep -qF "firmware: $DESCRIPTOR: first by name with secure-boot and enrolled-keys" <<<"$plan" ||
        fail "plan does not name the enrolled-keys descriptor: $plan"
out=$(timeout 20 "$VMLAUNCH" check vltest 2>&1) || fail "check failed: $out"
grep -qF "firmware: $DESCRIPTOR:" <<<"$out" || fail "check does not name the descriptor: $out"

start_vm vltest
wait_for_log "is running" 60
grep -qF "created the VM's UEFI variables $vars from $TEMPLATE" "$LOG" ||
        fail "the vars were not made from the enrolled-keys template"
qemu_pid=$(state_get qemu_pid)
cmdline=$(tr '\0' '\n' <"/proc/$qemu_pid/cmdline")
grep -q "^q35,.*,smm=on" <<<"$cmdline" || fail "QEMU's -machine has no smm=on: $cmdline"
grep -qx "driver=cfi.pflash01,property=secure,value=on" <<<"$cmdline" ||
        fail "QEMU's flash is not secure: $cmdline"
grep -qF "filename=$CODE," <<<"$cmdline" || fail "QEMU does not run $CODE: $cmdline"
out=$(timeout 10 "$VMLAUNCH" qmp vltest '{"execute": "query-status"}') || fail "qmp: $out"
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["status"] == "running"' "$out" ||
        fail "query-status said: $out"
out=$(timeout 10 "$VMLAUNCH" qmp vltest \
        '{"execute": "qom-get", "arguments": {"path": "/machine", "property": "smm"}}') ||
        fail "qmp qom-get smm: $out"
grep -q '"on"' <<<"$out" || fail "the machine's smm is $out"

timeout 10 "$VMLAUNCH" qmp vltest quit >/dev/null || fail "qmp quit failed"
wait_vm_exit 20

# A vars file made earlier from the template without keys: refused, naming it.
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
out=$(timeout 20 "$VMLAUNCH" check vltest 2>&1)
[ $? != 0 ] || fail "check accepted vars without enrolled keys: $out"
grep -qF "[firmware] secure_boot: [firmware] vars $vars holds no enrolled Secure Boot keys" <<<"$out" ||
        fail "check did not name the vars file: $out"
start_vm vltest
wait_vm_exit 30
[ "$VM_STATUS" != 0 ] || fail "run started a VM with vars without enrolled keys"
grep -qF "$vars holds no enrolled Secure Boot keys" "$LOG" || fail "run did not name the vars file"
grep -q "is running" "$LOG" && fail "the guest ran"
echo "ok"
