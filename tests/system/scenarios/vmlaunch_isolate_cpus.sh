#!/bin/bash
# Scenario: [host] isolate_cpus = yes. While the guest runs, the host's own slices
# (init.scope, system.slice, user.slice) may use only the emulator CPU (AllowedCPUs=0),
# QEMU lives in vmlaunch-gpu.scope under machine.slice, which stays unrestricted, and
# its threads keep their pins (the emulator on CPU 0, vCPU 1 and the iothread on 1).
# After `vmlaunch stop` the slices are unrestricted again and the host is as before.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

grep -qw cpuset /sys/fs/cgroup/cgroup.controllers || {
  echo "skipped: the emulated host has no cgroup v2 cpuset controller"
  exit 77
}
isolated=/tmp/isolated/gpu.ini
def_variant "$isolated" 's/^\[host\]$/[host]\nisolate_cpus = yes/'
allowed() { systemctl show -p AllowedCPUs --value "$1"; }

snapshot >/tmp/snapshot.before
start_run "$isolated"
wait_running || finish_vm

for u in init.scope system.slice user.slice; do
  expect_eq "$u may use only the emulator CPU" "$(allowed "$u")" 0
done
expect_eq "machine.slice is not restricted" "$(allowed machine.slice)" ""
qemu_pid=$(vm_status_field qemu_pid)
expect_eq "QEMU runs in vmlaunch-gpu.scope under machine.slice" \
  "$(cat "/proc/$qemu_pid/cgroup")" "0::/machine.slice/vmlaunch-gpu.scope"
expect_eq "QEMU's main thread stays on the emulator CPU" \
  "$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$qemu_pid/status")" 0
expect_eq "vCPU 0, vCPU 1 and iothread io1 are pinned to CPUs 0, 1 and 1" \
  "$("$VMLAUNCH" status "$vm" --json | jq -r '[.threads[] | "\(.index // .id)=\(.cpus)"] | sort | join(" ")')" \
  "0=0 1=1 io1=1"
grep -q "QEMU runs in vmlaunch-gpu.scope under machine.slice" "$vm_log" ||
  fail "the log does not say where QEMU runs"

must "$VMLAUNCH" stop "$vm"
wait_run_end 60
expect_eq "vmlaunch run exits 8 (stopped)" "$run_status" 8
for u in init.scope system.slice user.slice; do
  expect_eq "$u is unrestricted again" "$(allowed "$u")" ""
done
expect_eq "the scope is gone with QEMU" "$(systemctl is-active vmlaunch-gpu.scope)" inactive
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish_vm
