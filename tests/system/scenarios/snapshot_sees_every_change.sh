#!/bin/bash
# Scenario: the snapshot that every vmlaunch scenario compares before and after sees a
# change of each kind vmlaunch may make. For each kind: make one change by hand, check
# that the snapshot's lines of that kind differ, undo it. The one kind this host cannot
# change (no cpufreq) is checked on a fixture tree.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"

gpu=/sys/bus/pci/devices/0000:00:02
modules_before=$(awk '{print $1}' /proc/modules)
snapshot >/tmp/base

# shows KIND DESCRIPTION: the snapshot now differs from /tmp/base in a line of KIND.
shows() {
  snapshot >/tmp/now
  if diff /tmp/base /tmp/now | grep -q "^[<>] $1 "; then
    pass "a change of $1 shows ($2)"
  else
    fail "a change of $1 does not show ($2)"
    diff /tmp/base /tmp/now
  fi
}

# The xHCI function (nothing of the host's on it) leaves its driver and comes back.
must sh -c "echo 0000:00:02.2 >/sys/bus/pci/drivers/xhci_hcd/unbind"
shows pci "xhci_hcd unbound"
must sh -c "echo 0000:00:02.2 >/sys/bus/pci/drivers/xhci_hcd/bind"
must sh -c "echo vfio-pci >$gpu.2/driver_override"
shows pci "driver_override"
must sh -c "echo >$gpu.2/driver_override"

must timeout 60 systemctl stop display-manager.service
shows unit "display manager stopped"
must timeout 60 systemctl start display-manager.service

must modprobe dummy
shows module "dummy loaded"
must rmmod dummy
old=$(cat /sys/module/snd_hda_intel/parameters/power_save)
must sh -c "echo $((old + 5)) >/sys/module/snd_hda_intel/parameters/power_save"
shows module-param "snd_hda_intel power_save"
must sh -c "echo $old >/sys/module/snd_hda_intel/parameters/power_save"


pool=/sys/kernel/mm/hugepages/hugepages-2048kB
old=$(cat $pool/nr_hugepages)
must sh -c "echo $((old + 1)) >$pool/nr_hugepages"
shows hugepages "one more 2 MiB page"
must sh -c "echo $old >$pool/nr_hugepages"
must sh -c "echo 1 >$pool/nr_overcommit_hugepages"
shows hugepages "overcommit"
must sh -c "echo 0 >$pool/nr_overcommit_hugepages"


must timeout 60 systemctl set-property --runtime user.slice AllowedCPUs=0
shows allowed-cpus "user.slice on CPU 0"
shows systemd-runtime "the drop-in set-property wrote"
must timeout 60 systemctl set-property --runtime user.slice AllowedCPUs=
must rm -rf /run/systemd/system.control/user.slice.d
must timeout 60 systemctl daemon-reload

# A transient unit named like QEMU's scope (vmlaunch-NAME.scope).
must timeout 60 systemd-run --quiet --unit vmlaunch-snapshot-test.service sleep 300
shows vmlaunch-unit "a transient vmlaunch-* unit"
shows systemd-runtime "its transient unit file"
must timeout 60 systemctl stop vmlaunch-snapshot-test.service

must mkdir -p /run/vmlaunch/snapshot-test
must touch /run/vmlaunch/snapshot-test/journal
shows vmlaunch-runtime "a journal in /run/vmlaunch"
must rm -r /run/vmlaunch/snapshot-test

must modprobe vfio-pci
must sh -c "echo vfio-pci >$gpu.2/driver_override"
must sh -c "echo 0000:00:02.2 >/sys/bus/pci/drivers/xhci_hcd/unbind"
must sh -c "echo 0000:00:02.2 >/sys/bus/pci/drivers_probe"
wait_until 10 "00:02.2 is on vfio-pci" test "$(driver_of 0000:00:02.2)" = vfio-pci
shows vfio-devices "00:02.2 on vfio-pci: its group's /dev/vfio node"
must sh -c "echo 0000:00:02.2 >/sys/bus/pci/drivers/vfio-pci/unbind"
must sh -c "echo >$gpu.2/driver_override"
must sh -c "echo 0000:00:02.2 >/sys/bus/pci/drivers_probe"
wait_until 10 "00:02.2 is back on xhci_hcd" test "$(driver_of 0000:00:02.2)" = xhci_hcd

must sh -c "echo 0 >/sys/class/vtconsole/vtcon1/bind"
shows vtconsole "frame buffer console unbound"
must sh -c "echo 1 >/sys/class/vtconsole/vtcon1/bind"
# The GPU's own framebuffer goes with its driver, as when vmlaunch unloads bochs (with
# the display manager stopped, nothing holds the card). Loading vfb instead hangs here.
must timeout 60 systemctl stop display-manager.service
must sh -c "echo 0000:00:02.0 >/sys/bus/pci/drivers/bochs-drm/unbind"
shows fb "bochs-drmdrmfb gone with bochs"
must sh -c "echo 0000:00:02.0 >/sys/bus/pci/drivers/bochs-drm/bind"
must timeout 60 systemctl start display-manager.service

# This host has no cpufreq: a fixture tree with one governor stands in.
fake=/tmp/fake-sys
mkdir -p $fake/devices/system/cpu/cpu0/cpufreq $fake/bus/pci/devices
echo performance >$fake/devices/system/cpu/cpu0/cpufreq/scaling_governor
SYSFS=$fake PROCFS=/tmp/none DEVFS=/tmp/none RUNFS=/tmp/none "$SYSTEM_TESTS/snapshot.sh" >/tmp/gov.before
echo powersave >$fake/devices/system/cpu/cpu0/cpufreq/scaling_governor
SYSFS=$fake PROCFS=/tmp/none DEVFS=/tmp/none RUNFS=/tmp/none "$SYSTEM_TESTS/snapshot.sh" >/tmp/gov.after
if diff /tmp/gov.before /tmp/gov.after | grep -q "^[<>] governor "; then
  pass "a change of governor shows (fixture tree)"
else
  fail "a change of governor does not show (fixture tree)"
fi

# Everything undone: the modules loaded here unloaded (users first), and the snapshot
# is as at the start, which also shows that undoing each change is seen.
for _ in 1 2 3; do
  for m in $(awk '{print $1}' /proc/modules); do
    grep -qx "$m" <<<"$modules_before" || rmmod "$m" 2>/dev/null
  done
done
snapshot >/tmp/end
expect_same_snapshot "everything undone" /tmp/base /tmp/end
finish
