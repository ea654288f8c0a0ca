#!/bin/bash
# Runs INSIDE the emulated host (bench/guide_vs_vmlaunch.sh boots it through
# tests/system/host.sh): a warm-up round, then BENCH_ROUNDS rounds of the guide's hooks
# and of vmlaunch on the VM of tests/system/defs/gpu.ini, in alternating order. After
# every run the host must be exactly as before (snapshot.sh, like the system scenarios),
# or the next numbers would measure a different host.
set -euo pipefail
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
rounds=${BENCH_ROUNDS:-3}
bench=$SOURCE_ROOT/bench
out=/vmtest/bench # the build machine's run folder: results survive the power-off
work=/tmp/bench
functions=(0000:00:02.0 0000:00:02.1 0000:00:02.2)
drivers=(bochs-drm snd_hda_intel xhci_hcd)
mkdir -p "$out" "$work/etc"

# vmlaunch reads NAME.ini from its config dir, which must be root-owned and not writable
# by others.
install -m 0644 "$SYSTEM_TESTS/defs/gpu.ini" "$work/etc/gpu.ini"
export VMLAUNCH_CONFIG_DIR=$work/etc VMLAUNCH
"$VMLAUNCH" plan --json gpu >"$work/plan.json" 2>"$work/plan.warnings"
cp "$work/plan.json" "$out/plan.json"

for i in "${!functions[@]}"; do
  expect_eq "${functions[$i]} starts on ${drivers[$i]}" "$(driver_of "${functions[$i]}")" "${drivers[$i]}"
done
expect_eq "the display manager starts active" "$(systemctl is-active display-manager.service)" active
[ "$failures" -eq 0 ] || finish
snapshot >"$work/snapshot.initial"
cut -d' ' -f1 /proc/modules | sort >"$work/modules.initial"

# Modules loaded now that were not at boot (the guide leaves vfio-pci and what it
# pulled in), unused ones first, until none is left.
unload_extra_modules() {
  local _ m extra
  for _ in 1 2 3 4 5; do
    extra=$(cut -d' ' -f1 /proc/modules | sort | comm -13 "$work/modules.initial" -)
    [ -n "$extra" ] || return 0
    for m in $extra; do
      if [ "$(awk -v m="$m" '$1 == m {print $3}' /proc/modules)" = 0 ]; then rmmod "$m"; fi
    done
  done
}

# The host must be as at boot after each run: bindings, modules, consoles,
# framebuffers, hugepages, units, /dev/vfio. What the guide's revert leaves behind is
# shown, then cleaned up here (outside the timed part), so every round starts alike.
check_restored() { # tool round
  local i
  for i in "${!functions[@]}"; do
    expect_eq "$1 round $2: ${functions[$i]} is back on ${drivers[$i]}" \
      "$(driver_of "${functions[$i]}")" "${drivers[$i]}"
  done
  snapshot >"$work/snapshot.after"
  if ! diff -u "$work/snapshot.initial" "$work/snapshot.after" >"$work/left-behind"; then
    echo "$1 round $2 left the host different from boot:"
    sed -n 's/^\([-+][^-+]\)/    \1/p' "$work/left-behind"
    unload_extra_modules
    snapshot >"$work/snapshot.after"
  fi
  expect_same_snapshot "$1 round $2: host as at boot before the next run" \
    "$work/snapshot.initial" "$work/snapshot.after"
  [ "$failures" -eq 0 ] || { echo "stopping: the next round would start from another host"; finish; }
}

run_tool() { # tool round
  local result
  case $1 in
  guide) result=$(python3 "$bench/guide_vs_vmlaunch.py" guide "$2" "$work/plan.json" "$work/guide.$2") ;;
  vmlaunch) result=$(python3 "$bench/guide_vs_vmlaunch.py" vmlaunch "$2" "$work/vmlaunch.$2") ;;
  esac
  echo "$result" >>"$out/results.jsonl"
  jq -r '"\(.tool) round \(.round): " + (if .failed then "FAILED: \(.failed)" else "command to running \(.t_running * 1000 | round) ms, QEMU gone to desktop \(.t_restore * 1000 | round) ms" end)' <<<"$result"
  check_restored "$1" "$2"
}

: >"$out/results.jsonl"
# Where the interrupts go: under TCG a CPU that takes them all is the slower one.
cp /proc/interrupts "$out/interrupts.before"
echo "== warm-up (round 0, not counted: first reads of QEMU, vmlaunch and modules over 9p)"
run_tool guide 0
run_tool vmlaunch 0
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r"
  # Alternate who goes first, so neither always follows the other's leftovers in caches.
  if ((r % 2)); then order=(guide vmlaunch); else order=(vmlaunch guide); fi
  for tool in "${order[@]}"; do run_tool "$tool" "$r"; done
done

cp /proc/interrupts "$out/interrupts.after"
echo "== result"
python3 "$bench/guide_vs_vmlaunch.py" table "$out/results.jsonl" | tee "$out/table.md"
finish
