#!/bin/bash
# The guide's "release/end" libvirt hook, adapted to the emulated single-GPU host so
# that bench/guide_vs_vmlaunch.sh can time it against vmlaunch.
#
# Guide: joeknock90/Single-GPU-Passthrough, README "VM Stop script" and example-revert.sh
#   https://github.com/joeknock90/Single-GPU-Passthrough (master, 1be6d0c)
# It has no sleep. Same steps, same order, same error handling (`set -x`, no `set -e`).
# Adaptations, all forced by the host:
#  1. PCI addresses: 0000:00:02.2, .1, .0 (the guide gives the audio function back
#     before the VGA one, 0c:00.1 then 0c:00.0; the third function comes first here).
#  2. `virsh nodedev-reattach` (no libvirt here) is done the way libvirt does it: unbind
#     from vfio-pci, clear driver_override, drivers_probe.
#  3. The GPU's drivers are bochs, snd_hda_intel and xhci_pci instead of nvidia,
#     nvidia_modeset, nvidia_uvm and nvidia_drm (still loaded: the guide's start never
#     unloads them, so these modprobes change nothing, as in the guide).
#  4. `nvidia-xconfig --query-gpu-info` is dropped: NVIDIA-only, nothing to query here.
#  5. The 64 hugepages start.sh reserved for the VM are given back (not in the guide).
# Left as the guide has them: only vtcon0 is bound again (vtcon1 is commented out in the
# guide; fbcon takes the new framebuffer by itself), the efi-framebuffer bind (this host
# has no efi-framebuffer.0 left, so that line fails here, harmlessly), and vfio-pci
# stays loaded.
set -x

# Give each function back to its host driver, as `virsh nodedev-reattach` would.
for f in 0000:00:02.2 0000:00:02.1 0000:00:02.0; do
  [ -e "/sys/bus/pci/devices/$f/driver" ] && echo "$f" >"/sys/bus/pci/devices/$f/driver/unbind"
  echo >"/sys/bus/pci/devices/$f/driver_override"
  echo "$f" >/sys/bus/pci/drivers_probe
done

# The GPU's drivers, one modprobe each like the guide.
modprobe bochs
modprobe snd_hda_intel
modprobe xhci_pci

# The first VT console back on.
echo 1 >/sys/class/vtconsole/vtcon0/bind

# The firmware framebuffer back.
echo efi-framebuffer.0 >/sys/bus/platform/drivers/efi-framebuffer/bind

# Adaptation 5: the VM's hugepages back to the host.
echo 0 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages

# The desktop again.
systemctl start display-manager.service
