#!/bin/bash
# Scenario: while the GPU is in the VM the host must not suspend. vmlaunch run takes a
# logind inhibitor lock (sleep:idle, mode block, "vmlaunch: GPU passed to gpu") before
# its first host change and releases it once the host is restored: logind (D-Bus
# activated) lists it while the guest runs and not after `vmlaunch stop`; a second run,
# killed with SIGKILL, releases it too (the lock is a descriptor that dies with it).
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

# logind's inhibitors as "WHO|WHAT|WHY|MODE|PID" lines (ListInhibitors: ssssuu).
inhibitors() {
  busctl call --json=short org.freedesktop.login1 /org/freedesktop/login1 \
    org.freedesktop.login1.Manager ListInhibitors |
    jq -r '.data[0][] | "\(.[1])|\(.[0])|\(.[2])|\(.[3])|\(.[5])"'
}
vmlaunch_inhibitors() { inhibitors | grep -c '^vmlaunch|'; }
inhibitors_gone() { [ "$(vmlaunch_inhibitors)" = 0 ]; }

expect_eq "logind answers and holds no vmlaunch lock before the run" "$(vmlaunch_inhibitors)" 0
snapshot >/tmp/snapshot.before
start_run
wait_running || finish_vm
echo "+ systemd-inhibit --list"
systemd-inhibit --list --no-pager
expect_eq "logind lists vmlaunch's lock while the GPU is in the VM" "$(inhibitors)" \
  "vmlaunch|sleep:idle|vmlaunch: GPU passed to gpu|block|$run_pid"
expect_eq "systemd-inhibit --list shows it" \
  "$(systemd-inhibit --list --no-pager | grep -c 'vmlaunch: GPU passed to gpu')" 1
must "$VMLAUNCH" stop "$vm"
wait_run_end 60
expect_eq "vmlaunch run exits 8 (stopped)" "$run_status" 8
# released only after the restore: the log says so after the restore's last change
lock_line=$(grep -n 'holding a logind inhibitor lock' "$vm_log" | cut -d: -f1)
first_change=$(grep -n 'stopped display-manager.service' "$vm_log" | head -1 | cut -d: -f1)
release_line=$(grep -n 'released the logind inhibitor lock' "$vm_log" | cut -d: -f1)
restored_line=$(grep -n 'display-manager.service' "$vm_log" | tail -1 | cut -d: -f1)
expect_eq "the lock is taken before the first host change" \
  "$([ -n "$lock_line" ] && [ -n "$first_change" ] && [ "$lock_line" -lt "$first_change" ] && echo yes)" yes
expect_eq "the lock is released after the host is restored" \
  "$([ -n "$release_line" ] && [ -n "$restored_line" ] && [ "$release_line" -gt "$restored_line" ] && echo yes)" yes
wait_until 10 "logind no longer lists vmlaunch's lock after the run" inhibitors_gone &&
  pass "logind no longer lists vmlaunch's lock after the run"
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after

# A killed vmlaunch cannot release anything itself: the descriptor closes with it.
start_run
wait_running || finish_vm
expect_eq "the second run holds the lock" "$(vmlaunch_inhibitors)" 1
qemu_pid=$(vm_status_field qemu_pid)
echo "+ kill -KILL $run_pid (vmlaunch)"
kill -KILL "$run_pid"
wait "$run_pid" 2>/dev/null
qemu_gone() { ! kill -0 "$qemu_pid" 2>/dev/null; }
wait_until 30 "QEMU ends with its vmlaunch" qemu_gone
wait_until 10 "the lock of a killed vmlaunch is released" inhibitors_gone &&
  pass "the lock of a killed vmlaunch is released"
must "$VMLAUNCH" restore "$vm"
snapshot >/tmp/snapshot.after2
expect_same_snapshot "the host is as before after restore" /tmp/snapshot.before /tmp/snapshot.after2
finish_vm
