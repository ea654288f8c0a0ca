#!/bin/bash
# Scenario: vmlaunch runs the test VM with the whole GPU group passed through to a
# nested QEMU (TCG): the host is prepared (display manager stopped, bochs unloaded,
# the group on vfio-pci, hugepages reserved), the guest sees the VGA controller,
# /dev/vfio/N belongs to QEMU's user while the VM runs and is root's again before
# vfio-pci lets go of the group, `vmlaunch stop` ends it (exit 8) and the host is
# exactly as before.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
hugepages=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

snapshot >/tmp/snapshot.before
start_run
wait_running || finish_vm

# query-pci lists what is behind the GPU's root port once the guest's firmware has
# numbered its bus: wait for that (bounded), on a busy machine it takes seconds.
vga_count() {
  pci=$("$VMLAUNCH" qmp "$vm" '{"execute":"query-pci"}')
  jq '[.. | objects | select(.vendor? == 4660 and .device? == 4369)] | length' <<<"$pci"
}
deadline=$((SECONDS + 60))
while [ "$(vga_count)" != 1 ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
expect_eq "the guest's query-pci lists the VGA device 1234:1111" "$(vga_count)" 1
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
# The hand-over step: QEMU's user owns the group's /dev/vfio/N while the VM runs.
group=$(basename "$(readlink /sys/bus/pci/devices/0000:00:02.0/iommu_group)")
qemu_user=$("$VMLAUNCH" plan --json "$vm_def" 2>/dev/null | jq -r '.steps[] | select(.step == "handover") | .description' |
  sed -n 's|^hand /dev/vfio/[0-9]* .* to \([^ ]*\) for the run.*|\1|p')
expect_eq "plan hands /dev/vfio/$group to vmlaunch-qemu" "$qemu_user" vmlaunch-qemu
expect_eq "/dev/vfio/$group belongs to vmlaunch-qemu while the VM runs" \
  "$(stat -c '%U:%G %a' "/dev/vfio/$group")" "vmlaunch-qemu:vmlaunch-qemu 600"
# ...and QEMU, which drives the whole group, runs as that user, confined.
qemu_pid=$("$VMLAUNCH" status "$vm" --json | jq -r .qemu_pid)
qemu_status=$(grep -E "^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):" "/proc/$qemu_pid/status" | tr -s '\t' ' ')
uid=$(id -u vmlaunch-qemu)
expect_eq "QEMU runs as vmlaunch-qemu with no capabilities, no_new_privs and seccomp" \
  "$qemu_status" "Uid: $uid $uid $uid $uid
CapEff: 0000000000000000
CapBnd: 0000000000000000
NoNewPrivs: 1
Seccomp: 2"

must "$VMLAUNCH" stop "$vm"
wait_run_end 60
expect_eq "vmlaunch run exits 8 (stopped)" "$run_status" 8
# given back before the group left vfio-pci (which removes the node)
expect_eq "/dev/vfio/$group was given back to root before vfio-pci let go" \
  "$(grep -c "gave /dev/vfio/$group back to 0:0 0600" "$vm_log")" 1
expect_eq "/dev/vfio/$group is gone with vfio-pci" "$(ls /dev/vfio/$group 2>&1 >/dev/null | grep -c 'No such file')" 1
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish_vm
