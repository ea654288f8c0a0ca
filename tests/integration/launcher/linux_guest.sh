#!/bin/bash
# Builds the integration tests' Linux guest: a gzip'd cpio initramfs for the Debian
# kernel tests/system/host.sh caches, with static busybox, the modules the guest
# needs, Debian's real qemu-guest-agent (its package fetched with apt-get download and
# unpacked here: the build machine gets no daemon) with every library it loads, and
# linux_guest_init as /init (what the guest does and prints is described there).
#
#   linux_guest.sh --dir DIR KERNEL_ROOT VERSION
#
# KERNEL_ROOT is the unpacked kernel package (host.sh's root/, depmod'ed), VERSION its
# uname -r. The image is DIR/initramfs.cpio.gz, rebuilt only when an input changes
# (kernel, qemu-guest-agent version, busybox, this script, the init). Tests of one build
# may call this at the same time: the build holds DIR/.lock and the image is renamed
# into place, so a QEMU that already opened the previous one keeps reading it.
# Exit 0 when the image is ready, 2 when Debian's archive cannot be reached (no
# network: the one reason a test may skip), 1 on any other failure; the last line
# printed says why.
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ "${1:-}" = --dir ] && [ $# = 4 ] || {
        echo "usage: linux_guest.sh --dir DIR KERNEL_ROOT VERSION"
        exit 1
}
dir=$2 kroot=$3 version=$4
# The modules of the guest's devices, built as modules in Debian's kernel (tpm and
# tpm_crb are built in): virtio-serial (the agent's port), the ACPI power button and
# its input events (acpid), virtio-net (the optional listener).
modules=(virtio_pci virtio_console button evdev virtio_net)
multiarch=x86_64-linux-gnu

die() {
        echo "linux_guest.sh: $*"
        exit 1
}
no_network() {
        echo "no network: $*"
        exit 2
}

mkdir -p "$dir" || die "cannot create $dir"
exec 9>"$dir/.lock" && flock 9 || die "cannot lock $dir/.lock"

[ -x /bin/busybox ] && /bin/busybox --list | grep -qx acpid ||
        die "no static busybox with acpid in /bin/busybox (Debian package busybox-static)"
for tool in modprobe cpio gzip dpkg-deb apt-get; do
        command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -d "$kroot/lib/modules/$version" ] || die "no modules for $version in $kroot"

agent_version() {
        apt-cache policy qemu-guest-agent 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)'
}
qga_version=$(agent_version)
# A fresh CI container has no package lists yet.
[ -n "$qga_version" ] || [ "$(id -u)" -ne 0 ] || {
        apt-get update -qq >/dev/null 2>&1
        qga_version=$(agent_version)
}
[ -n "$qga_version" ] || no_network "apt-cache knows no qemu-guest-agent and apt-get update did not help"

key="kernel=$version qemu-guest-agent=$qga_version $(cat "$0" "$here/linux_guest_init" /bin/busybox | sha256sum)"
[ "$(cat "$dir/ready" 2>/dev/null)" = "$key" ] && [ -s "$dir/initramfs.cpio.gz" ] && exit 0

echo "building the Linux guest in $dir (kernel $version, qemu-guest-agent $qga_version)"
rm -rf "$dir/ready" "$dir/debs" "$dir/pkg" "$dir/initramfs" "$dir/initramfs.cpio.gz.new"
mkdir -p "$dir/debs" || die "cannot create $dir/debs"
# download PACKAGE...: into debs/, unpacked into pkg/.
download() {
        local deb
        (cd "$dir/debs" && apt-get download "$@" >"$dir/download.log" 2>&1) || {
                tail -3 "$dir/download.log"
                no_network "cannot download $* from Debian's archive"
        }
        for deb in "$dir"/debs/*.deb; do
                dpkg-deb -x "$deb" "$dir/pkg" || die "dpkg-deb -x $deb failed"
        done
        rm -f "$dir"/debs/*.deb
}
download qemu-guest-agent
qga=$dir/pkg/usr/sbin/qemu-ga
[ -x "$qga" ] || die "the qemu-guest-agent package has no usr/sbin/qemu-ga"

# The agent's libraries come from the build machine (QEMU itself needs the same ones);
# a library package the machine lacks is fetched and unpacked beside the agent.
missing=()
for p in $(apt-cache depends --no-pre-depends qemu-guest-agent 2>/dev/null |
        sed -n 's/^ *Depends: \([a-z0-9][a-z0-9.+-]*\).*/\1/p' | sort -u); do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || download "${missing[@]}"
libpath=$dir/pkg/lib/$multiarch:$dir/pkg/usr/lib/$multiarch
libs=$(LD_LIBRARY_PATH=$libpath ldd "$qga") || die "ldd $qga failed: $libs"
! grep -q "not found" <<<"$libs" ||
        die "qemu-ga needs libraries found neither on this machine nor in its dependencies: $(grep "not found" <<<"$libs" | awk '{print $1}' | tr '\n' ' ')"

initramfs=$dir/initramfs
mkdir -p "$initramfs"/{bin,sbin,dev,proc,sys,run,tmp,modules,usr/sbin,lib/$multiarch,lib64,etc/acpi/PWRF} ||
        die "cannot create $initramfs"
mkdir -p "$initramfs/var" && ln -s ../run "$initramfs/var/run" || die "cannot create $initramfs/var/run"
cp /bin/busybox "$initramfs/bin/busybox" || die "cannot copy busybox"
for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -s busybox "$initramfs/bin/$applet"
done
install -m 0755 "$here/linux_guest_init" "$initramfs/init" || die "cannot copy the init"
cp "$qga" "$initramfs/usr/sbin/qemu-ga" || die "cannot copy qemu-ga"
# ldd: "libx.so.N => /path/libx.so.N (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
while read -r name arrow path _; do
        case $name in
        linux-vdso.so.*) continue ;;
        /*) cp -L "$name" "$initramfs$name" || die "cannot copy $name" ;;
        *) [ "$arrow" = "=>" ] && cp -L "$path" "$initramfs/lib/$multiarch/$name" ||
                die "cannot copy $name ($path)" ;;
        esac
done <<<"$libs"
[ -e "$initramfs/lib64/ld-linux-x86-64.so.2" ] || die "ldd named no dynamic loader for qemu-ga"

# qemu-ga's guest-shutdown forks and runs `/sbin/shutdown -h -P|-H|-r +0 "hypervisor
# initiated shutdown"` (Debian's 7.2: qga/commands-posix.c) with stdout and stderr on
# /dev/null: say so on the console, then do it at once (there is no init to ask).
cat >"$initramfs/sbin/shutdown" <<'EOF'
#!/bin/sh
echo "guest: shutdown by the agent ($*)" >/dev/console
for flag; do
        case $flag in
        -r) exec /bin/reboot -f ;;
        -H) exec /bin/halt -f ;;
        esac
done
exec /bin/poweroff -f
EOF
# busybox acpid runs this for the ACPI power button (QEMU's system_powerdown); only a
# guest booted with vlguest.acpi=on obeys it, the others ignore it, like a locked
# Windows screen.
cat >"$initramfs/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
if grep -qw vlguest.acpi=on /proc/cmdline; then
        echo "guest: power button pressed, powering off" >/dev/console
        exec /bin/poweroff -f
fi
echo "guest: power button pressed, ignored" >/dev/console
EOF
chmod 0755 "$initramfs/sbin/shutdown" "$initramfs/etc/acpi/PWRF/00000080"

# modprobe lists each module's dependencies first: copy them in load order.
for module in "${modules[@]}"; do
        modprobe -d "$kroot" -S "$version" --show-depends "$module" ||
                die "no module $module in $kroot for $version"
done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' | while read -r ko; do
        cp "$ko" "$initramfs/modules/" && basename "$ko" >>"$initramfs/modules/load-order"
done
[ -s "$initramfs/modules/load-order" ] || die "no modules copied into the guest's initramfs"

(cd "$initramfs" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$dir/initramfs.cpio.gz.new" ||
        die "cannot pack the guest's initramfs"
chmod 0644 "$dir/initramfs.cpio.gz.new" && mv -f "$dir/initramfs.cpio.gz.new" "$dir/initramfs.cpio.gz" ||
        die "cannot move the image into place"
rm -rf "$initramfs" "$dir/debs"
echo "$key" >"$dir/ready"
