#!/bin/bash
# Scenario (runs inside the emulated host): the host boots like a single-GPU desktop,
# and the snapshot tool is stable when nothing changes.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
gpu=0000:00:02.0

group=$(basename "$(readlink /sys/bus/pci/devices/$gpu/iommu_group)")
expect_eq "the IOMMU group of $gpu holds the GPU's three functions" \
  "$(ls /sys/kernel/iommu_groups/"$group"/devices | paste -sd' ')" \
  "0000:00:02.0 0000:00:02.1 0000:00:02.2"
expect_eq "the VGA function is driven by bochs" "$(driver_of 0000:00:02.0)" bochs-drm
expect_eq "the HDA function is driven by snd_hda_intel" "$(driver_of 0000:00:02.1)" snd_hda_intel
expect_eq "the xHCI function is driven by xhci_pci" "$(driver_of 0000:00:02.2)" xhci_hcd
expect_eq "the display manager is active" "$(systemctl is-active display-manager.service)" active
expect_eq "the display manager keeps bochs in use" "$(awk '$1 == "bochs" {print $3}' /proc/modules)" 1

# The firmware's framebuffer came first, then bochs took it over: the efi-framebuffer
# device is gone and fbcon sits on bochs's DRM framebuffer.
expect_eq "efifb drove the boot console" "$(dmesg | grep -c 'fb0: EFI VGA frame buffer device')" 1
expect_eq "bochs removed the efi-framebuffer device" \
  "$(ls /sys/bus/platform/devices/ | grep -c framebuffer)" 0
expect_eq "the only framebuffer is bochs's" "$(cat /proc/fb)" "0 bochs-drmdrmfb"
expect_eq "fbcon is bound" "$(cat /sys/class/vtconsole/vtcon1/name) bind=$(cat /sys/class/vtconsole/vtcon1/bind)" \
  "(M) frame buffer device bind=1"
expect_eq "no GPU function is bound to vfio-pci" "$(ls /dev/vfio)" vfio

snapshot >/tmp/snapshot.1
snapshot >/tmp/snapshot.2
expect_same_snapshot "two snapshots of an unchanged host are identical" /tmp/snapshot.1 /tmp/snapshot.2
expect_eq "the snapshot lists the GPU's functions" "$(grep -c '^pci 0000:00:02\.' /tmp/snapshot.1)" 3
echo "---- snapshot ----"
cat /tmp/snapshot.1
finish
