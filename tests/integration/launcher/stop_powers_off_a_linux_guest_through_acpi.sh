#!/bin/bash
# `vmlaunch stop` of a guest that answers ACPI: a Debian kernel with a busybox
# initramfs whose acpid powers off on the power button. The guest goes down by
# itself long before the shutdown timeout (30 s), so QEMU never gets `quit`;
# vmlaunch exits 8 (stopped on request) and leaves nothing behind.
# The kernel is the one tests/system/host.sh downloads and caches.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?set by meson}"

debian_kernel # sets host_dir and kernel
version=${kernel##*/vmlinuz-}

# The guest's initramfs: busybox, the init above, the acpid action, and the
# button (ACPI power button) and evdev (/dev/input/event*) modules, which
# Debian builds as modules, with their dependencies in load order.
initramfs=$TMP/initramfs
mkdir -p "$initramfs"/{bin,dev,proc,sys,modules,etc/acpi/PWRF}
cp /bin/busybox "$initramfs/bin/busybox"
for applet in sh mount insmod cat grep sleep acpid poweroff; do
        ln -s busybox "$initramfs/bin/$applet"
done
install -m 0755 "$HERE/acpi_guest_init" "$initramfs/init"
printf '#!/bin/sh\necho "guest: power button pressed, powering off"\npoweroff -f\n' \
        >"$initramfs/etc/acpi/PWRF/00000080"
chmod 0755 "$initramfs/etc/acpi/PWRF/00000080"
for module in button evdev; do
        modprobe -d "$host_dir/root" -S "$version" --show-depends "$module" ||
                fail "no module $module in $host_dir/root for $version"
done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
        cp "$ko" "$initramfs/modules/" && basename "$ko" >>"$initramfs/modules/load-order"
done
[ -s "$initramfs/modules/load-order" ] || fail "no modules copied into the guest's initramfs"
(cd "$initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$TMP/initramfs.cpio.gz" ||
        fail "cannot pack the guest's initramfs"

install_def vltest "$HERE/linux_acpi.ini" "s|@KERNEL@|$kernel|; s|@INITRD@|$TMP/initramfs.cpio.gz|"
start_vm vltest
wait_for_log "is running"
qemu=$(state_get qemu_pid)
wait_for_log "guest ready" 45

start=$SECONDS
out=$(timeout 40 "$VMLAUNCH" stop vltest 2>&1) || fail "stop failed: $out"
wait_vm_exit 10
took=$((SECONDS - start))
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8 (stopped on request)"
grep -q "power button pressed, powering off" "$LOG" || fail "the guest's acpid never ran its action"
grep -q "QEMU is shutting down: guest-shutdown (asked by the guest)" "$LOG" ||
        fail "QEMU did not report a guest poweroff"
! grep -q "did not shut down within" "$LOG" || fail "the guest ignored ACPI: QEMU got quit"
[ $took -lt 20 ] || fail "the stop took $took s, well beyond an ACPI poweroff"
! kill -0 "$qemu" 2>/dev/null || fail "QEMU (pid $qemu) still runs"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok: the guest powered off through ACPI $took s after vmlaunch stop"
