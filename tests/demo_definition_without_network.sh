#!/bin/bash
# examples/demo-definition when Debian's archive cannot be reached: the demo falls back
# to examples/demo.ini as it is (the UEFI shell), says why, and the definition is one
# vmlaunch accepts. No network cannot be made here on purpose, so stand-ins for apt-cache
# and apt-get (which know no package and cannot update, as offline) come first in PATH.
# Also: how many vCPUs it gives for the machine's cores, and bad usage.
set -u
: "${VMLAUNCH:?set by meson}" "${SOURCE_ROOT:?set by meson}"
tmp=$(mktemp -d /tmp/vmlaunch-demo-def.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() {
        echo "FAIL: $*"
        exit 1
}
mkdir -p "$tmp/bin" "$tmp/out" "$tmp/build"
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/apt-cache"
printf '#!/bin/sh\necho "E: could not resolve deb.debian.org" >&2\nexit 100\n' >"$tmp/bin/apt-get"
chmod +x "$tmp/bin/apt-cache" "$tmp/bin/apt-get"

out=$(PATH=$tmp/bin:$PATH "$SOURCE_ROOT/examples/demo-definition" --build "$tmp/build" --out "$tmp/out" 2>&1) ||
        fail "demo-definition failed offline: $out"
echo "$out"
grep -q "^guest: the UEFI shell (no Linux guest: no network: " <<<"$out" ||
        fail "offline, the demo does not say it falls back to the UEFI shell and why"
! grep -q "^\[boot\]" "$tmp/out/demo.ini" || fail "offline, the definition still boots a kernel"
cores=$(cat /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list | sort -u | wc -l)
want=2 && [ "$cores" -ge 3 ] || want=1
[ "$(sed -n 's/^cores = //p' "$tmp/out/demo.ini")" = "$want" ] ||
        fail "$cores cores: the demo should have $want vCPUs, has $(sed -n 's/^cores = //p' "$tmp/out/demo.ini")"
if [ "$cores" -ge 2 ]; then
        grep -q "^vcpu_pin = auto$" "$tmp/out/demo.ini" || fail "$cores cores and the demo is not pinned"
else
        ! grep -q "^vcpu_pin" "$tmp/out/demo.ini" || fail "one core and the demo still asks for pins"
fi
plan=$(VMLAUNCH_RUNTIME_DIR=$tmp/run "$VMLAUNCH" plan --brief --allow-unsafe-owner "$tmp/out/demo.ini" 2>&1) ||
        fail "vmlaunch refuses the offline demo definition: $plan"
! grep -qi "warning" <<<"$plan" || fail "the offline demo's plan warns: $plan"

usage=$("$SOURCE_ROOT/examples/demo-definition" --out "$tmp/out" 2>&1) && fail "bad usage accepted"
[ "$usage" = "usage: demo-definition --build BUILD --out OUT" ] || fail "bad usage says: $usage"
echo "ok"
