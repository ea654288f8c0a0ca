#!/bin/bash
# Scenario (runs inside the emulated host): by hand, what vmlaunch automates. Hand the
# GPU's IOMMU group to vfio-pci, start a nested QEMU with it, give everything back, and
# check with the snapshot tool that the host is exactly as it was.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
functions=(0000:00:02.0 0000:00:02.1 0000:00:02.2)
drivers=(bochs snd_hda_intel xhci_pci)
hugepages=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
guest_hugepages=64 # 128 MiB of guest RAM

snapshot >/tmp/snapshot.before

echo "== prepare"
must systemctl stop display-manager.service
for v in /sys/class/vtconsole/vtcon*; do
  grep -q 'frame buffer' "$v/name" && must sh -c "echo 0 > $v/bind"
done
expect_eq "bochs is unused once the display manager and fbcon let go" \
  "$(awk '$1 == "bochs" {print $3}' /proc/modules)" 0
must modprobe -r "${drivers[@]}"
for f in "${functions[@]}"; do
  expect_eq "$f is unbound once its driver is unloaded" "$(driver_of "$f")" "(none)"
done
loaded_modules() { cut -d' ' -f1 /proc/modules | sort; }
loaded_modules >/tmp/modules.before-vfio
must modprobe vfio-pci
for f in "${functions[@]}"; do
  must sh -c "echo vfio-pci > /sys/bus/pci/devices/$f/driver_override"
  must sh -c "echo $f > /sys/bus/pci/drivers_probe"
  expect_eq "$f is bound to vfio-pci" "$(driver_of "$f")" vfio-pci
done
group=$(basename "$(readlink /sys/bus/pci/devices/${functions[0]}/iommu_group)")
wait_until 5 "/dev/vfio/$group appears" test -c "/dev/vfio/$group"
must sh -c "echo $guest_hugepages > $hugepages"
expect_eq "the hugepage pool is allocated" "$(cat $hugepages)" $guest_hugepages

echo "== launch"
# QMP over stdin/stdout: capabilities, list the guest's PCI devices, quit.
qmp_out=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-pci"}' '{"execute":"quit"}' |
  timeout 120 qemu-system-x86_64 -machine q35,accel=tcg -m 128 -mem-path /dev/hugepages \
    -nodefaults -display none -S -qmp stdio \
    -device vfio-pci,host=${functions[0]#0000:},multifunction=on,addr=05.0 \
    -device vfio-pci,host=${functions[1]#0000:},addr=05.1 \
    -device vfio-pci,host=${functions[2]#0000:},addr=05.2 2>/tmp/nested-qemu.log)
status=$?
expect_eq "the nested QEMU quit cleanly" "$status" 0
expect_eq "query-pci lists the passed-through VGA controller" \
  "$(grep -o '"desc": "VGA controller"' <<<"$qmp_out" | head -1)" '"desc": "VGA controller"'
expect_eq "query-pci lists all three functions in slot 5" \
  "$(grep -o '"slot": 5,' <<<"$qmp_out" | wc -l)" 3
[ $failures -eq 0 ] || { echo "$qmp_out"; cat /tmp/nested-qemu.log; }

echo "== restore"
must sh -c "echo 0 > $hugepages"
for f in "${functions[@]}"; do
  must sh -c "echo > /sys/bus/pci/devices/$f/driver_override"
  must sh -c "echo $f > /sys/bus/pci/drivers/vfio-pci/unbind"
done
# Unload exactly what vfio brought in. "modprobe -r vfio-pci" is not enough: it removes
# only direct dependencies, and vfio loaded vfio_iommu_type1 on demand (no dependency).
# Unused modules go first, until none of them is left.
vfio_modules() { loaded_modules | comm -13 /tmp/modules.before-vfio -; }
echo "modules loaded for vfio: $(vfio_modules | paste -sd' ')"
for pass in 1 2 3 4 5; do
  for m in $(vfio_modules); do
    [ "$(awk -v m="$m" '$1 == m {print $3}' /proc/modules)" = 0 ] && rmmod "$m"
  done
done
expect_eq "the modules vfio brought in are unloaded" "$(vfio_modules | paste -sd' ')" ""
must modprobe -a "${drivers[@]}"
# fbcon takes the console back by itself when bochs registers its framebuffer again.
expect_eq "fbcon is bound again once bochs is back" "$(cat /sys/class/vtconsole/vtcon1/bind)" 1
for v in /sys/class/vtconsole/vtcon*; do
  grep -q 'frame buffer' "$v/name" && must sh -c "echo 1 > $v/bind"
done
must systemctl start display-manager.service

snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish
