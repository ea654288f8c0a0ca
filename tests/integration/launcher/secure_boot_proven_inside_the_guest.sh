#!/bin/bash
# Secure Boot proven from inside a real guest, not from the argv (issue 13): a VM with
# secure_boot = yes boots Debian's signed chain (shim -> grub -> the signed kernel,
# from a small FAT ESP made with mtools) and the kernel reports Secure Boot enabled
# on the serial console, with a TPM 2.0 (swtpm) its firmware and kernel find and its
# userspace reads in /sys/class/tpm/tpm0 (the initrd is the tests' Linux guest,
# build-initramfs, whose signed modules load under lockdown); the same VM with an
# unsigned EFI binary (that kernel with its signature cut off) is refused by the
# firmware ("Access Denied").
# The kernel is the one tests/system/host.sh downloads and caches; shim-signed,
# grub-efi-amd64-signed and mtools are fetched with apt-get download beside it.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?set by meson}"

[ -r /usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json ] ||
        skip "Debian's Secure Boot OVMF (package ovmf) is not installed"
linux_guest # sets kernel and initrd (and host_dir)

chain=$BUILD_ROOT/secure-boot-chain
mkdir -p "$chain"
exec 8>"$chain/.lock" && flock 8 # tests of one build share the cache
if [ ! -e "$chain/ready" ]; then
        rm -rf "$chain/x" "$chain"/*.deb
        (cd "$chain" && apt-get download shim-signed grub-efi-amd64-signed mtools \
                >"$chain/download.log" 2>&1) ||
                skip "no Secure Boot chain: no network: $(tail -1 "$chain/download.log")"
        for deb in "$chain"/*.deb; do dpkg -x "$deb" "$chain/x" || fail "dpkg -x $deb"; done
        rm -f "$chain"/*.deb
        touch "$chain/ready"
fi
exec 8>&-
MT=$chain/x/usr/bin
shim=$chain/x/usr/lib/shim/shimx64.efi.signed
grub=$chain/x/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
[ -f "$shim" ] && [ -f "$grub" ] && [ -x "$MT/mcopy" ] || fail "the chain in $chain is incomplete"

# make_esp IMAGE BOOTX64 [FILE DEST]...: a 64 MiB FAT ESP whose default boot loader is
# BOOTX64, with more files copied in.
make_esp() {
        local image=$1 boot=$2
        shift 2
        rm -f "$image" && truncate -s 64M "$image" || fail "truncate $image"
        "$MT/mformat" -i "$image" -F :: && "$MT/mmd" -i "$image" ::/EFI ::/EFI/BOOT ::/EFI/debian &&
                "$MT/mcopy" -i "$image" "$boot" ::/EFI/BOOT/BOOTX64.EFI || fail "mtools: $image"
        while [ $# -ge 2 ]; do
                "$MT/mcopy" -i "$image" "$1" "::$2" || fail "mcopy $1 to $image"
                shift 2
        done
}

# Debian's signed grub reads /EFI/debian/grub.cfg on the ESP it was started from.
printf 'set timeout=0\nlinux /vmlinuz console=ttyS0 panic=0\ninitrd /initrd.gz\nboot\n' >"$TMP/grub.cfg"
make_esp "$TMP/signed.img" "$shim" "$grub" /EFI/BOOT/grubx64.efi "$TMP/grub.cfg" \
        /EFI/debian/grub.cfg "$kernel" /vmlinuz "$initrd" /initrd.gz
# The same kernel without its Authenticode signature: PE data directory 4 (the
# certificate table) zeroed and the table cut off.
python3 - "$kernel" "$TMP/unsigned.efi" <<'PY' || fail "cannot strip the kernel's signature"
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
pe = struct.unpack_from("<I", b, 0x3C)[0]
assert b[pe:pe + 4] == b"PE\0\0"
opt = pe + 24
dirs = opt + (112 if struct.unpack_from("<H", b, opt)[0] == 0x20B else 96)
off, size = struct.unpack_from("<II", b, dirs + 4 * 8)
assert off and size, "the kernel is not signed"
struct.pack_into("<II", b, dirs + 4 * 8, 0, 0)
open(sys.argv[2], "wb").write(b[:off])
PY
make_esp "$TMP/unsigned.img" "$TMP/unsigned.efi"

mkdir -m 0755 "$TMP/vars"
# install_guest IMAGE: the VM boots IMAGE with Secure Boot, its serial in the log.
install_guest() {
        install_def vltest "$HERE/pinned.ini"
        sed -i -e "s|^type = bios|type = uefi\nsecure_boot = yes\nvars = $TMP/vars/VARS.fd|" \
                -e "s|^size = 128M|size = 512M|" -e "s|^model = qemu64|model = max|" \
                -e "s|^shutdown_timeout = 2|shutdown_timeout = 2\nserial = /dev/stdout|" \
                "$VMLAUNCH_CONFIG_DIR/vltest.ini"
        printf '\n[disk.esp]\npath = %s\nformat = raw\ncache = writeback\naio = threads\nboot = 1\n' \
                "$1" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"
        rm -f "$TMP/vars/VARS.fd"
}

# stop_guest: ends the run (the guest may be halted or in the firmware's menu).
stop_guest() {
        timeout 10 "$VMLAUNCH" qmp vltest quit >/dev/null 2>&1 || fail "qmp quit failed"
        wait_vm_exit 30
}

install_guest "$TMP/signed.img"
# ...with a TPM 2.0 on swtpm: the firmware measures the boot into it, so the kernel
# finds the TCG2 final event log (which exists only for TPM 2.0), and the TPM driver
# built into Debian's kernel finds the chip (IMA says so when it does not).
command -v swtpm >/dev/null && command -v swtpm_setup >/dev/null ||
        fail "swtpm is not installed (tools/install-deps installs swtpm and swtpm-tools)"
mkdir -m 0755 "$TMP/tpm"
printf '\n[tpm]\nenabled = yes\nstate_dir = %s/tpm\n' "$TMP" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"
start_vm_for() { : >"$LOG"; timeout -s KILL "$1" "$VMLAUNCH" run vltest >>"$LOG" 2>&1 & VM_PID=$!; }
start_vm_for 500
wait_for_log "is running" 60
wait_for_log "EFI stub: UEFI Secure Boot is enabled." 300
wait_for_log "secureboot: Secure boot enabled" 120
grep -q "Kernel is locked down from EFI Secure Boot" "$LOG" || fail "the kernel is not locked down"
grep -qE "efi: .*TPMFinalLog=0x[0-9a-f]+" "$LOG" ||
        fail "the guest's firmware kept no TPM 2.0 final event log (no TPMFinalLog in the efi: line)"
grep -q "ima: No TPM chip found" "$LOG" && fail "the guest's kernel found no TPM chip"
wait_for_log "guest ready" 300
grep -q "guest: tpm_version_major=2$" <(tr -d '\r' <"$LOG") ||
        fail "the guest's userspace found no TPM 2.0: $(grep -a "guest: .*tpm" "$LOG")"
grep -q "guest: insmod .* failed" "$LOG" && fail "a signed module was refused under lockdown"
stop_guest
cp "$LOG" "$TMP/signed.log"

install_guest "$TMP/unsigned.img"
start_vm_for 500
wait_for_log "is running" 60
wait_for_log "from PciRoot(0x0)/Pci(" 300
wait_for_log "BdsDxe: No bootable option or device was found." 120
grep -q 'BdsDxe: failed to load Boot[0-9A-F]* .*: Access Denied' "$LOG" ||
        fail "the firmware did not refuse the unsigned binary with Access Denied"
grep -q "Linux version" "$LOG" && fail "the unsigned kernel ran"
stop_guest
echo "ok"
