#!/bin/bash
# The guide's hook scripts (bench/guide/start.sh + revert.sh around a bare QEMU) against
# `vmlaunch run`, on the same VM (tests/system/defs/gpu.ini) in ONE boot of the emulated
# single-GPU host (tests/system/host.sh). Per tool: command to guest running (t1-t0) and
# guest exit to display manager active (t3-t2), median and min over ROUNDS rounds after
# one warm-up round, as a markdown table. A benchmark, not a test: not in meson's list.
# Usage (root, on the build machine): bench/guide_vs_vmlaunch.sh [BUILD_DIR] [ROUNDS]
# The host's cache is BUILD_DIR/system-host (host.sh prepares it when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive number, not '$rounds'"; exit 2; }
vmlaunch=$PWD/$build/launcher/vmlaunch
[ -x "$vmlaunch" ] || { echo "build first: $vmlaunch is missing"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: the emulated host shares this machine's / read-only"; exit 1; }

out=$(mktemp -d /tmp/guide-vs-vmlaunch.XXXXXX)
# host.sh gives a scenario no arguments: this two-line scenario carries ROUNDS in.
cat >"$out/scenario.sh" <<EOF
export BENCH_ROUNDS=$rounds
exec bash "\$SOURCE_ROOT/bench/guide_vs_vmlaunch-inside.sh"
EOF
export BUILD_ROOT=$PWD/$build VMLAUNCH=$vmlaunch
# A boot is ~30-90 s under TCG; each round runs two VMs, ~1-2 min on a busy machine.
export SYSTEM_HOST_TIMEOUT=${SYSTEM_HOST_TIMEOUT:-$((300 + 240 * rounds))}
status=0
tests/system/host.sh run "$out/scenario.sh" "$out/host" || status=$?
echo "raw results (one JSON line per run, with each tool's timestamped output):" \
  "$out/host/share/bench/results.jsonl"
exit "$status"
