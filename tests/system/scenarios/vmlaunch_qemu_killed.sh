#!/bin/bash
# Scenario: the nested QEMU is killed with SIGKILL while the guest runs. vmlaunch sees
# it die, restores the host and exits 7 (QEMU crashed or was killed).
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

snapshot >/tmp/snapshot.before
start_run
wait_running || finish_vm

qemu_pid=$(vm_status_field qemu_pid)
echo "+ kill -KILL $qemu_pid (QEMU)"
kill -KILL "$qemu_pid" || fail "QEMU (pid '$qemu_pid') could not be killed"
wait_run_end 60
expect_eq "vmlaunch run exits 7 (QEMU was killed)" "$run_status" 7
expect_eq "vmlaunch's log says QEMU was killed by SIGKILL" \
  "$(grep -c 'QEMU was killed by SIGKILL' "$vm_log")" 1
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish_vm
