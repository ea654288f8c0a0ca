#!/bin/bash
# Scenario: the host starts with part of vmlaunch's work already done by hand, and a
# run must leave exactly that behind, not "undo" it. First run: the display manager
# already stopped (restore must not start it), the GPU's audio function 00:02.1 unbound
# with its module snd_hda_intel unloaded although unload_modules lists it (restore must
# not load it or bind the function), the USB function 00:02.2 already on vfio-pci
# through driver_override (it stays there, with its override; vfio_pci stays loaded for
# it, and what the run loads besides, vfio_iommu_type1, is unloaded again). Second run:
# 00:02.1 unbound by hand but snd_hda_intel loaded and listed: the run unloads it,
# restore loads it again, and the function, which the driver probes, must end unbound.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

audio=0000:00:02.1
usb=0000:00:02.2
must timeout 60 systemctl stop display-manager.service
must modprobe -r snd_hda_intel
must modprobe vfio-pci
# modprobe loads vfio_iommu_type1 too (a soft dependency of vfio); without it the host
# is as if loaded another way (insmod, an initramfs): vmlaunch loads it for the run.
must modprobe -r vfio_iommu_type1
must sh -c "echo vfio-pci >/sys/bus/pci/devices/$usb/driver_override"
must sh -c "echo $usb >/sys/bus/pci/drivers/xhci_hcd/unbind"
must sh -c "echo $usb >/sys/bus/pci/drivers_probe"
wait_until 10 "$usb is on vfio-pci" test "$(driver_of $usb)" = vfio-pci
expect_eq "the display manager is stopped before the run" "$(unit_state display-manager.service)" inactive
expect_eq "$audio has no driver before the run" "$(driver_of $audio)" "(none)"
listed=/tmp/listed/gpu.ini
def_variant "$listed" 's/^unload_modules = auto$/unload_modules = bochs,snd_hda_intel/'

snapshot >/tmp/snapshot.before
start_run "$listed"
wait_running || finish_vm
expect_eq "$audio is on vfio-pci while the guest runs" "$(driver_of $audio)" vfio-pci
must "$VMLAUNCH" stop "$vm"
wait_run_end 60
expect_eq "vmlaunch run exits 8 (stopped)" "$run_status" 8
expect_eq "the display manager is still stopped" "$(unit_state display-manager.service)" inactive
module_loaded snd_hda_intel && fail "snd_hda_intel was loaded by the restore"
expect_eq "$audio still has no driver" "$(driver_of $audio)" "(none)"
expect_eq "$audio has no driver_override" "$(cat /sys/bus/pci/devices/$audio/driver_override)" "(null)"
expect_eq "$usb is still on vfio-pci" "$(driver_of $usb)" vfio-pci
expect_eq "$usb keeps driver_override vfio-pci" "$(cat /sys/bus/pci/devices/$usb/driver_override)" vfio-pci
expect_eq "0000:00:02.0 is back on bochs-drm" "$(driver_of 0000:00:02.0)" bochs-drm
module_loaded vfio_iommu_type1 && fail "vfio_iommu_type1, loaded by the run, is still loaded"
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
[ $failures -eq 0 ] || finish_vm

echo "# second run: 00:02.1 unbound by hand, snd_hda_intel loaded and listed"
must modprobe snd_hda_intel
wait_until 10 "snd_hda_intel binds $audio" test "$(driver_of $audio)" = snd_hda_intel
must sh -c "echo $audio >/sys/bus/pci/drivers/snd_hda_intel/unbind"
expect_eq "$audio has no driver before the second run" "$(driver_of $audio)" "(none)"
snapshot >/tmp/snapshot.before2
start_run "$listed"
wait_running || finish_vm
expect_eq "$audio is on vfio-pci while the guest runs" "$(driver_of $audio)" vfio-pci
module_loaded snd_hda_intel && fail "snd_hda_intel is still loaded while the guest runs"
must "$VMLAUNCH" stop "$vm"
wait_run_end 60
expect_eq "vmlaunch run exits 8 (stopped)" "$run_status" 8
module_loaded snd_hda_intel || fail "snd_hda_intel was not loaded again"
expect_eq "$audio has no driver after the reload" "$(driver_of $audio)" "(none)"
grep -q "$audio snd_hda_intel -> no driver, as before" "$vm_log" ||
  fail "the log does not say $audio was unbound again"
snapshot >/tmp/snapshot.after2
expect_same_snapshot "the host is exactly as before the second run" /tmp/snapshot.before2 /tmp/snapshot.after2
finish_vm
