#!/bin/bash
# vmlaunch run pins vCPU 0 -> CPU 1, vCPU 1 -> CPU 0 (crosswise), iothread io1 ->
# CPU 0 and the emulator -> CPU 1 before the guest runs, logs one line per thread,
# and the kernel agrees; `status --json` reports the same while it runs.
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs to pin crosswise"

install_def vltest "$HERE/pinned.ini"
start_vm vltest
wait_for_log "is running"
qemu=$(state_get qemu_pid)
[ -n "$qemu" ] || fail "no qemu_pid in the state file"

check_thread() { # comm expected-cpus
        local tid
        tid=$(tid_named "$qemu" "$1") || fail "QEMU has no thread '$1'"
        [ "$(cpus_of "$qemu" "$tid")" = "$2" ] ||
                fail "thread '$1' (tid $tid) may run on CPUs $(cpus_of "$qemu" "$tid"), not $2"
}
check_thread "CPU 0/TCG" 1
check_thread "CPU 1/TCG" 0
check_thread "IO io1" 0
[ "$(cpus_of "$qemu" "$qemu")" = 1 ] || fail "emulator thread not on CPU 1"
# Every other thread QEMU started (RCU, workers, monitor) inherits the emulator's CPUs.
for task in /proc/"$qemu"/task/*; do
        case $(cat "$task/comm") in "CPU 0/TCG" | "CPU 1/TCG" | "IO io1") continue ;; esac
        [ "$(cpus_of "$qemu" "${task##*/}")" = 1 ] ||
                fail "thread $(cat "$task/comm") (tid ${task##*/}) is not on the emulator CPU"
done

grep -qE "^vCPU 0 \(tid [0-9]+\) -> CPU 1$" "$LOG" || fail "no log line for vCPU 0"
grep -qE "^vCPU 1 \(tid [0-9]+\) -> CPU 0$" "$LOG" || fail "no log line for vCPU 1"
grep -qE "^iothread io1 \(tid [0-9]+\) -> CPU 0$" "$LOG" || fail "no log line for io1"
grep -qE "^emulator \(pid $qemu\) -> CPU 1$" "$LOG" || fail "no log line for the emulator"

json=$(timeout 10 "$VMLAUNCH" status --json vltest) || fail "status --json failed: $json"
python3 - "$json" "$qemu" <<'PY' || fail "status --json: $json"
import json, sys
s = json.loads(sys.argv[1])
assert s["running"] is True and s["state"] == "running", s
assert s["qemu_pid"] == int(sys.argv[2]), s
cpus = {(t["kind"], t.get("index", t.get("id"))): t["cpus"] for t in s["threads"]}
assert cpus == {("vcpu", 0): "1", ("vcpu", 1): "0", ("iothread", "io1"): "0"}, cpus
PY
timeout 10 "$VMLAUNCH" status vltest | grep -q "vCPU 1 (tid [0-9]*): CPUs 0" ||
        fail "plain status lacks vCPU 1's CPUs"

timeout 30 "$VMLAUNCH" stop --force vltest || fail "stop --force failed"
wait_vm_exit 10
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS after stop, expected 8"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind: $(ls -A "$(RUN_DIR_OF vltest)")"
echo "ok"
