#!/bin/bash
# Scenario: vmlaunch itself is killed with SIGKILL while the guest runs, so it cannot
# restore anything. QEMU dies with it (spawn sets PR_SET_PDEATHSIG: it gets SIGTERM
# and quits, so it does not hold the GPU unsupervised); `vmlaunch restore` replays the
# journal and puts the host back; a second restore finds nothing to do.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

snapshot >/tmp/snapshot.before
start_run
wait_running || finish_vm

qemu_pid=$(vm_status_field qemu_pid)
echo "+ kill -KILL $run_pid (vmlaunch)"
kill -KILL "$run_pid"
wait "$run_pid" 2>/dev/null
qemu_gone() { ! kill -0 "$qemu_pid" 2>/dev/null; }
wait_until 30 "QEMU (pid $qemu_pid) ends when vmlaunch is killed" qemu_gone &&
  pass "QEMU ended with vmlaunch"
expect_eq "the host is still prepared (00:02.0 on vfio-pci)" "$(driver_of 0000:00:02.0)" vfio-pci

out=$("$VMLAUNCH" restore "$vm" 2>&1)
status=$?
echo "$out"
expect_eq "vmlaunch restore exits 0" "$status" 0
expect_eq "vmlaunch restore says it restored the host" "$(tail -1 <<<"$out")" "restored the host for $vm"
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after

out=$("$VMLAUNCH" restore "$vm" 2>&1)
status=$?
echo "$out"
expect_eq "a second vmlaunch restore exits 0" "$status" 0
expect_eq "a second vmlaunch restore has nothing to do" "$out" "nothing to restore for $vm"
snapshot >/tmp/snapshot.again
expect_same_snapshot "the second restore changed nothing" /tmp/snapshot.before /tmp/snapshot.again
finish_vm
