#!/bin/bash
# The guide's "prepare/begin" libvirt hook, adapted to the emulated single-GPU host so
# that bench/guide_vs_vmlaunch.sh can time it against vmlaunch.
#
# Guide: joeknock90/Single-GPU-Passthrough, README "Start Script" and example-start.sh
#   https://github.com/joeknock90/Single-GPU-Passthrough (master, 1be6d0c)
# It is the guide whose hooks are named start.sh and revert.sh. Its only sleep is
# `sleep 2` ("avoid a race condition"); it is kept as is. (The `sleep 5` many copies of
# this script carry is a user's edit of that line, not the guide's.)
#
# Same steps, same order, same error handling (`set -x`, no `set -e`: a failing line is
# printed and the script goes on, as in the guide). Adaptations, all forced by the host:
#  1. PCI addresses: the GPU group is 0000:00:02.0 (VGA, bochs-drm), 00:02.1 (HD audio,
#     snd_hda_intel) and 00:02.2 (xHCI, xhci_hcd) instead of the guide's 0c:00.0/.1.
#  2. `virsh nodedev-detach` (no libvirt here) is done the way libvirt does it for a
#     vfio device: load vfio-pci, driver_override=vfio-pci, unbind, drivers_probe.
#  3. The VM backs its RAM with 64 x 2 MiB hugepages (the same QEMU command line vmlaunch
#     plans); the guide's hooks have no hugepage step, so they are reserved last.
#     vmlaunch does the same work in its hugepages step.
# The display manager unit is display-manager.service, as in the guide (here a stand-in).
set -x

gpu_functions="0000:00:02.0 0000:00:02.1"
gpu_functions+=" 0000:00:02.2" # the emulated GPU's third function, same group

# The desktop lets go of the GPU.
systemctl stop display-manager.service

# Both VT consoles off the framebuffer.
echo 0 >/sys/class/vtconsole/vtcon0/bind
echo 0 >/sys/class/vtconsole/vtcon1/bind

# The firmware framebuffer lets go of the GPU's memory.
echo efi-framebuffer.0 >/sys/bus/platform/drivers/efi-framebuffer/unbind

# The guide's pause against the race it saw here.
sleep 2

# Hand each function to vfio-pci, as `virsh nodedev-detach` would.
for f in $gpu_functions; do
  [ -d /sys/bus/pci/drivers/vfio-pci ] || modprobe vfio-pci # libvirt loads it when absent
  echo vfio-pci >"/sys/bus/pci/devices/$f/driver_override"
  [ -e "/sys/bus/pci/devices/$f/driver" ] && echo "$f" >"/sys/bus/pci/devices/$f/driver/unbind"
  echo "$f" >/sys/bus/pci/drivers_probe
done

# The guide loads the vfio driver last (already there after the detach above).
modprobe vfio-pci

# Adaptation 3: the VM's hugepages.
echo 64 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
