#!/bin/bash
# The emulated single-GPU host: a Debian kernel booted under QEMU/TCG with an Intel
# IOMMU and a three-function "GPU" (VGA + HDA + xHCI in slot 2, one IOMMU group).
# Its root is this machine's / (read-only 9p + tmpfs overlay), so the build tree and
# every installed tool are visible inside, and nothing inside can change this machine.
#
#   host.sh [--dir DIR] prepare            fetch the kernel, build the initramfs (cached);
#                                           exits 77 when there is no network
#   host.sh [--dir DIR] run SCENARIO [OUT]  boot, run SCENARIO inside, power off;
#                                           prints its output, exits with its status
#   host.sh [--dir DIR] test SCENARIO       like run, but exits 77 (meson's skip) when
#                                           the kernel cannot be downloaded (no network);
#                                           any other failure to prepare is a failure
#   host.sh [--dir DIR] shell               boot with a root shell on this terminal
#                                           (leave with "poweroff" or Ctrl-A X)
# DIR defaults to $BUILD_ROOT/system-host (meson sets BUILD_ROOT) or build/system-host.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source_root=${SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
dir=${BUILD_ROOT:-$source_root/build}/system-host
if [ "${1:-}" = --dir ]; then dir=$2; shift 2; fi
verb=${1:-}; shift

boot_timeout_s=${SYSTEM_HOST_TIMEOUT:-840}
memory_mib=2560
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
packages=(qemu-system-x86 ovmf busybox-static kmod cpio)
initramfs_modules=(virtio_pci 9pnet_virtio 9p overlay)

die() { echo "host.sh: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }

install_missing_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || { echo "needs Debian packages: ${missing[*]}"; return 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >"$dir/apt.log" 2>&1 || { tail -5 "$dir/apt.log"; echo "cannot install ${missing[*]}"; return 1; }
}

# Returns 2 when Debian's archive cannot be reached (no network: the one reason to skip),
# 1 for any other failure; either after printing why (last line = the reason).
prepare() {
  mkdir -p "$dir" || return 1
  exec 9>"$dir/.lock" && flock 9 # tests of one build share the cache
  install_missing_packages || return 1
  "$source_root/examples/linux-guest/debian-kernel" --dir "$dir" || return
  local package version key
  package=$(cat "$dir/kernel-ready") && version=${package#linux-image-} || return 1
  # The initramfs depends on the kernel and on initramfs-init: rebuild when either changes.
  key="$package $(sha256sum <"$here/initramfs-init")"
  [ "$(cat "$dir/ready" 2>/dev/null)" = "$key" ] && return 0
  echo "preparing the emulated host in $dir ($package)"
  rm -rf "$dir/initramfs" "$dir/ready"

  local initramfs=$dir/initramfs module ko
  mkdir -p "$initramfs"/{bin,dev,proc,sys,lower,upper,newroot,modules}
  cp /bin/busybox "$initramfs/bin/busybox" && ln -s busybox "$initramfs/bin/sh"
  cp "$here/initramfs-init" "$initramfs/init" && chmod +x "$initramfs/init"
  # modprobe lists each module's dependencies first: copy them in load order.
  for module in "${initramfs_modules[@]}"; do
    modprobe -d "$dir/root" -S "$version" --show-depends "$module" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' | while read -r ko; do
    cp "$ko" "$initramfs/modules/" && basename "$ko" >>"$initramfs/modules/load-order"
  done
  (cd "$initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initramfs.cpio.gz" || return 1
  echo "$key" >"$dir/ready"
}

# A scenario with the line "# needs: linux-guest" runs the integration tests' Linux
# guest (Debian's kernel with the real qemu-guest-agent) as its nested VM: it is built
# here, where Debian's archive is reachable, into BUILD_ROOT/linux-guest, which the
# host sees through its shared root. Returns like prepare (2: no network).
linux_guest_for() { # scenario
  grep -q '^# needs: linux-guest$' "$1" || return 0
  local version
  version=$(readlink "$dir/vmlinuz") && version=${version##*/vmlinuz-} || return 1
  "$source_root/examples/linux-guest/build-initramfs" \
    --dir "${BUILD_ROOT:-$source_root/build}/linux-guest" "$dir/root" "$version"
}

# Everything one boot needs: the scenario, the files installed into the host's /etc,
# and the environment the scenario sees. Results come back through the same folder.
fill_share() { # share scenario
  local share=$1 scenario=$2
  mkdir -p "$share" && cp -a "$here/guest" "$share/guest" || return 1
  [ -n "$scenario" ] && { cp "$scenario" "$share/scenario.sh" || return 1; }
  # The host's /tmp is a tmpfs of its own (see initramfs-init): name the folders under
  # the build machine's /tmp that must stay visible (a checkout or build in /tmp).
  local p
  for p in "$source_root" "${BUILD_ROOT:-}" "${VMLAUNCH:+$(dirname "$VMLAUNCH")}" "$here"; do
    case $p in /tmp/?*) p=${p#/tmp/}; echo "/tmp/${p%%/*}" ;; esac
  done | sort -u >"$share/keep-under-tmp"
  cat >"$share/env" <<ENV
export SOURCE_ROOT='$source_root' BUILD_ROOT='${BUILD_ROOT:-$source_root/build}'
export VMLAUNCH='${VMLAUNCH:-}' SYSTEM_TESTS='$here'
ENV
}

# Sets qemu=(the command line of one boot).
qemu_command() { # share console mode(run|shell)
  local share=$1 console=$2 mode=$3 serial
  cp "$ovmf_vars" "$share/../OVMF_VARS.fd" || return 1
  if [ "$mode" = shell ]; then serial=(-serial mon:stdio); else serial=(-serial "file:$console"); fi
  # no_timer_check: under TCG on a busy machine the kernel's check that the timer
  # interrupt arrives through the remapped IO-APIC can time out and panic at boot.
  # panic=-1 with -no-reboot: a panic ends QEMU at once instead of hanging the test.
  qemu=(qemu-system-x86_64 -name system-host -nodefaults -display none -no-reboot \
    -machine q35,kernel-irqchip=split -accel tcg,thread=multi -cpu max -smp 2 -m "$memory_mib" \
    -drive "if=pflash,format=raw,file=$ovmf_code,readonly=on" \
    -drive "if=pflash,format=raw,file=$share/../OVMF_VARS.fd" \
    -kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio.gz" \
    -append "console=ttyS0 intel_iommu=on no_timer_check panic=-1 systemd.unit=vmtest.target vmtest.mode=$mode" \
    -device intel-iommu,intremap=on,caching-mode=on \
    -device VGA,addr=02.0,multifunction=on -device ich9-intel-hda,addr=02.1 -device qemu-xhci,addr=02.2 \
    -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot,addr=08.0 \
    -fsdev "local,id=modules,path=$dir/root/lib/modules,security_model=none,readonly=on" \
    -device virtio-9p-pci,fsdev=modules,mount_tag=modules,addr=09.0 \
    -fsdev "local,id=vmtest,path=$share,security_model=none" \
    -device virtio-9p-pci,fsdev=vmtest,mount_tag=vmtest,addr=0a.0 \
    "${serial[@]}")
}

console_tail() { # console
  echo "---- last 60 lines of the emulated host's console ($1) ----"
  # Without colours and carriage returns, so that CI logs stay readable.
  tail -n 60 "$1" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r//g'
  echo "---- end of console ----"
}

# Boots once, runs SCENARIO inside, prints its output. Returns 0 when the scenario passed,
# 77 when it skipped itself, 1 otherwise (with the tail of the host's console).
run() { # scenario [out]
  local scenario=$1 out=${2:-} share console status start=$SECONDS
  [ -f "$scenario" ] || die "no scenario file $scenario"
  [ -n "$out" ] || { out=$(mktemp -d "$dir/run.XXXXXX") || return 1; }
  share=$out/share console=$out/console.log
  fill_share "$share" "$scenario" || return 1
  qemu_command "$share" "$console" run || return 1
  timeout --kill-after=10 "$boot_timeout_s" "${qemu[@]}" </dev/null >"$out/qemu.log" 2>&1
  local qemu_status=$? took_s=$((SECONDS - start)) name
  name=$(basename "$scenario")
  cat "$share/output" 2>/dev/null || cat "$share/output.partial" 2>/dev/null
  status=$(cat "$share/status" 2>/dev/null)
  if [ "$qemu_status" -eq 124 ] || [ "$qemu_status" -eq 137 ]; then
    echo "emulated host: $name did not finish within $boot_timeout_s s (files in $out)"; status=
  elif [ "$qemu_status" -ne 0 ]; then
    echo "emulated host: qemu exited with status $qemu_status (files in $out):"; cat "$out/qemu.log"; status=
  elif [ -z "$status" ]; then
    echo "emulated host: powered off after $took_s s without running $name (files in $out)"
  else
    echo "emulated host: $name exited with status $status after $took_s s (files in $out)"
  fi
  [ "${status:-}" = 0 ] && return 0
  [ "${status:-}" = 77 ] && return 77 # the scenario said "skipped: ..."
  console_tail "$console"
  return 1
}

case "$verb" in
prepare) reason=$(prepare); rc=$?
         [ $rc = 2 ] && skip "cannot prepare the emulated host: $(echo "$reason" | tail -1)"
         [ $rc = 0 ] || die "cannot prepare the emulated host: $reason"
         [ -z "$reason" ] || echo "$reason" ;;
run) [ $# -ge 1 ] || die "usage: host.sh run SCENARIO [OUT]"
     reason=$(prepare) || die "cannot prepare the emulated host: $reason"
     reason=$(linux_guest_for "$1") || die "cannot build the Linux guest: $reason"; run "$@" ;;
test) [ $# -eq 1 ] || die "usage: host.sh test SCENARIO"
      reason=$(prepare); rc=$?
      [ $rc = 2 ] && skip "cannot prepare the emulated host: $(echo "$reason" | tail -1)"
      [ $rc = 0 ] || die "cannot prepare the emulated host: $reason"
      reason=$(linux_guest_for "$1"); rc=$?
      [ $rc = 2 ] && skip "cannot build the Linux guest: $(echo "$reason" | tail -1)"
      [ $rc = 0 ] || die "cannot build the Linux guest: $reason"
      out=$(mktemp -d "$dir/run.XXXXXX") || exit 1
      run "$1" "$out" && rm -rf "$out" ;; # a failed run's files stay for a look
shell) reason=$(prepare) || die "cannot prepare the emulated host: $reason"
       out=$(mktemp -d "$dir/shell.XXXXXX") && fill_share "$out/share" "" &&
         qemu_command "$out/share" "" shell && "${qemu[@]}"; rm -rf "$out" ;;
*) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
esac
