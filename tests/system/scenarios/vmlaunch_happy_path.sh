#!/bin/bash
# Scenario: vmlaunch runs the test VM with the whole GPU group passed through to a
# nested QEMU (TCG): the host is prepared (display manager stopped, bochs unloaded,
# the group on vfio-pci, hugepages reserved), the guest sees the VGA controller,
# `vmlaunch stop` ends it (exit 8) and the host is exactly as before.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
hugepages=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

snapshot >/tmp/snapshot.before
start_run
wait_running || finish_vm

pci=$("$VMLAUNCH" qmp "$vm" '{"execute":"query-pci"}')
expect_eq "the guest's query-pci lists the VGA device 1234:1111" \
  "$(jq '[.. | objects | select(.vendor? == 4660 and .device? == 4369)] | length' <<<"$pci")" 1
[ $failures -eq 0 ] || echo "query-pci: $pci"
for f in 0000:00:02.0 0000:00:02.1 0000:00:02.2; do
  expect_eq "$f is on vfio-pci" "$(driver_of "$f")" vfio-pci
done
# The kernel's view of each thread's CPUs, as status reads them from /proc.
expect_eq "vCPU 0, vCPU 1 and iothread io1 are pinned to CPUs 0, 1 and 1" \
  "$("$VMLAUNCH" status "$vm" --json | jq -r '[.threads[] | "\(.index // .id)=\(.cpus)"] | sort | join(" ")')" \
  "0=0 1=1 io1=1"
expect_eq "the display manager is stopped" "$(unit_state display-manager.service)" inactive
expect_eq "bochs is unloaded" "$(module_loaded bochs && echo loaded)" ""
expect_eq "64 hugepages of 2 MiB are reserved" "$(cat $hugepages)" 64

must "$VMLAUNCH" stop "$vm"
wait_run_end 60
expect_eq "vmlaunch run exits 8 (stopped)" "$run_status" 8
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish_vm
