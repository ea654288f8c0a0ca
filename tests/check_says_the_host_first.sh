#!/bin/bash
# `vmlaunch check` says the host first (issue 15), on hand-made roots (VMLAUNCH_SYSROOT,
# a -Dtest-seams=true build): without an IOMMU the very first line names it with the
# kernel parameters for this CPU's vendor (intel_iommu=on / amd_iommu=on iommu=pt); with
# one, it is no problem (and `check --json` says it is on). `check --json` carries the host lines and how the
# GPU resets (a Navi 10 without vendor-reset gets its warning), and a gpu-lost record of
# this boot makes check and status say the GPU needs a host reboot.
set -u
: "${VMLAUNCH:?set by meson}" "${SOURCE_ROOT:?set by meson}"
grep -q -a -F VMLAUNCH_SYSROOT "$VMLAUNCH" || { echo "skipped: $VMLAUNCH was built without -Dtest-seams=true"; exit 77; }
tmp=$(mktemp -d /tmp/vmlaunch-check-host.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMLAUNCH_RUNTIME_DIR=$tmp/run VMLAUNCH_CONFIG_DIR=$tmp/etc
mkdir -p "$VMLAUNCH_RUNTIME_DIR" "$VMLAUNCH_CONFIG_DIR"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok - $*"; }

# The guide's VM, with a disk that exists, so what is left is the host.
def=$VMLAUNCH_CONFIG_DIR/win10.ini
sed "s|^path = /var/lib/libvirt/images/win10.qcow2|path = /dev/null|" "$SOURCE_ROOT/examples/win10.ini" >"$def"
chmod 0644 "$def"

# make_root DIR VENDOR: a host with /proc and an empty /sys (no IOMMU groups)
make_root() {
  mkdir -p "$1/proc/sys/kernel/random" "$1/sys/kernel" "$1/sys/module" "$1/dev"
  printf 'processor\t: 0\nvendor_id\t: %s\n' "$2" >"$1/proc/cpuinfo"
  echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet" >"$1/proc/cmdline"
  echo 6.1.0-13-amd64 >"$1/proc/sys/kernel/osrelease"
  echo 0a0b0c0d-0000-4000-8000-000000000001 >"$1/proc/sys/kernel/random/boot_id"
  printf 'MemTotal: 24000000 kB\nMemAvailable: 20000000 kB\nHugePages_Free: 0\nHugepagesize: 2048 kB\n' >"$1/proc/meminfo"
}

for vendor in GenuineIntel:intel_iommu AuthenticAMD:amd_iommu; do
  root=$tmp/${vendor%%:*}
  make_root "$root" "${vendor%%:*}"
  out=$(VMLAUNCH_SYSROOT=$root "$VMLAUNCH" check win10 2>&1)
  status=$?
  first=$(head -n 1 <<<"$out")
  [ "$status" = 4 ] || fail "check without an IOMMU exited $status, expected 4"
  if grep -q "IOMMU: off" <<<"$first" && grep -qF "${vendor#*:}=on iommu=pt" <<<"$first"; then
    ok "${vendor%%:*} without an IOMMU: the first line names it and ${vendor#*:}=on iommu=pt"
  else
    fail "${vendor%%:*}: the first line is not the IOMMU with ${vendor#*:}=on: $first"
  fi
done

# With an IOMMU: the GPU's group and a Navi 10 (1002:731f) that resets by bus only.
root=$tmp/GenuineIntel
gpu=$root/sys/bus/pci/devices/0000:06:00.0
mkdir -p "$gpu" "$root/sys/kernel/iommu_groups/14/devices"
ln -s ../../../../kernel/iommu_groups/14 "$gpu/iommu_group"
ln -s ../../../../bus/pci/devices/0000:06:00.0 "$root/sys/kernel/iommu_groups/14/devices/0000:06:00.0"
echo 0x030000 >"$gpu/class"
echo "(null)" >"$gpu/driver_override"
echo bus >"$gpu/reset_method"
{ printf '\x02\x10\x1f\x73\x00\x00\x00\x00\xc1\x00\x00\x03'; head -c 52 /dev/zero; } >"$gpu/config"
out=$(VMLAUNCH_SYSROOT=$root "$VMLAUNCH" check win10 2>&1)
first=$(head -n 1 <<<"$out")
grep -q "IOMMU: off" <<<"$out" && fail "with an IOMMU, check still names it as a problem: $out" ||
  ok "with an IOMMU it is no problem (the first is: ${first#*: })"
grep -q "warning: \[gpu\] address: 0000:06:00.0 (1002:731f, AMD Navi 10) does not reset reliably without vendor-reset" <<<"$out" &&
  ok "check warns about the Navi 10 without vendor-reset" || fail "no vendor-reset warning: $out"

json=$(VMLAUNCH_SYSROOT=$root "$VMLAUNCH" check --json win10 2>/dev/null)
status=$?
[ "$status" = 4 ] || fail "check --json exited $status, expected 4 like check"
if [ "$(jq -r '.host[0].check + " " + .host[0].level' <<<"$json")" = "iommu ok" ] &&
  [ "$(jq -r '.gpu_reset[0].vendor_reset_family' <<<"$json")" = "AMD Navi 10" ] &&
  [ "$(jq -r '.gpu_reset[0].reset_method | join(" ")' <<<"$json")" = bus ] &&
  [ "$(jq -r '.gpu_reset[0].warning != null and .vendor_reset.installed == false' <<<"$json")" = true ] &&
  [ "$(jq -r '.exit' <<<"$json")" = 4 ]; then
  ok "check --json carries the host lines and how the GPU resets"
else
  fail "check --json: $json"
fi

# A GPU lost in this boot (RUN_DIR/gpu-lost) blocks it: check and status say so.
mkdir -p "$VMLAUNCH_RUNTIME_DIR/win10"
printf 'boot_id 0a0b0c0d-0000-4000-8000-000000000001\n0000:06:00.0 config space reads ffff:ffff (the device does not answer)\n' \
  >"$VMLAUNCH_RUNTIME_DIR/win10/gpu-lost"
out=$(VMLAUNCH_SYSROOT=$root "$VMLAUNCH" check win10 2>&1)
grep -q "0000:06:00.0.*this GPU needs a host reboot" <<<"$out" && ok "check says the lost GPU needs a reboot" ||
  fail "check does not name the lost GPU: $out"
out=$(VMLAUNCH_SYSROOT=$root "$VMLAUNCH" status win10 2>&1)
grep -q "GPU 0000:06:00.0 did not come back healthy.*needs a host reboot" <<<"$out" &&
  ok "status says the lost GPU needs a reboot" || fail "status does not name the lost GPU: $out"
# after a reboot (another boot ID) the record no longer counts
echo 0a0b0c0d-0000-4000-8000-000000000002 >"$root/proc/sys/kernel/random/boot_id"
out=$(VMLAUNCH_SYSROOT=$root "$VMLAUNCH" check win10 2>&1)
grep -q "needs a host reboot" <<<"$out" && fail "a record of another boot still blocks: $out" ||
  ok "a record of another boot does not block"

[ "$failures" = 0 ] && echo "all passed" || { echo "$failures failed"; exit 1; }
