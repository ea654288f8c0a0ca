#!/bin/bash
# Scenario: a failure injected before every change of every host-preparation step in
# turn (VMLAUNCH_FAIL_STEP=k:n, see hostprep/test_seams.h), on the real kernel: each run
# exits 5, its error names the step, and the host is exactly as before after each one,
# also when the step had already made some of its changes (the third of the group's
# devices on vfio-pci, half the modules unloaded). All in one boot.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
needs_test_seams
# isolate_cpus on, so the isolation step changes this host too
def_variant /tmp/isolated/gpu.ini 's/^\[host\]$/[host]\nisolate_cpus = yes/'
vm_def=/tmp/isolated/gpu.ini
# Every step, in order, as vmlaunch names them (also those that change nothing here:
# a failure there still rolls back the steps before it).
read -ra steps <<<"$(plan_steps "$vm_def" all)"
[ ${#steps[@]} -ge 10 ] || { fail "plan --json names ${#steps[@]} steps: ${steps[*]}"; finish_vm; }
echo "steps: ${steps[*]}"
# The step numbers VMLAUNCH_FAIL_STEP takes are positions in the whole list.
declare -A number
for i in "${!steps[@]}"; do number[${steps[$i]}]=$((i + 1)); done
# FAIL_EACH_STEP_PART splits the walk over several boots (one boot of all of it takes
# 15 min with both CPUs busy): "before-modules", "modules" or "after-modules", by the
# position of the modules step, so a new step always falls into one part.
part=${FAIL_EACH_STEP_PART:-all}
if [ "$part" != all ]; then
  m=-1
  for i in "${!steps[@]}"; do [ "${steps[$i]}" = modules ] && m=$i; done
  [ "$m" -ge 0 ] || { fail "no modules step in: ${steps[*]}"; finish_vm; }
  case $part in
  before-modules) steps=("${steps[@]:0:m}") ;;
  modules) steps=(modules) ;;
  after-modules) steps=("${steps[@]:m+1}") ;;
  *) fail "FAIL_EACH_STEP_PART=$part: expected before-modules, modules or after-modules"; finish_vm ;;
  esac
  echo "this part ($part): ${steps[*]}"
fi
# A step of this host makes at most this many changes (modules: bochs and its drm
# helpers, snd_hda_intel and its codecs, xhci_pci).
max_changes=24

snapshot >/tmp/snapshot.before
mid_step=0
for step in "${steps[@]}"; do
  k=${number[$step]}
  for ((n = 1; n <= max_changes + 1; n++)); do
    point="$k:$n ($step)"
    echo "== VMLAUNCH_FAIL_STEP=$point"
    run_to_end "$vm_def" VMLAUNCH_FAIL_STEP=$k:$n
    expect_eq "$point: vmlaunch run exits 5" "$run_status" 5
    error=$(grep 'prepare the host:' "$vm_log")
    echo "$error"
    expect_eq "$point: the error names the step" \
      "$(grep -c "prepare the host: $step: .*injected failure" <<<"$error")" 1
    snapshot >/tmp/snapshot.after
    expect_same_snapshot "$point: the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
    [ $failures -eq 0 ] || finish_vm
    # "after the step's N change(s)": every change of this step has had its turn
    grep -q 'injected failure before' <<<"$error" || break
    [ "$n" -eq 1 ] || mid_step=$((mid_step + 1))
  done
  [ "$n" -le "$max_changes" ] || fail "$step made more than $max_changes changes: raise max_changes"
done
# bochs' helpers, the HDA codecs and three devices to vfio-pci: many failures fell
# between two changes of one step
[ "$part" = all ] && need_mid=5 || need_mid=1
[ "$mid_step" -ge "$need_mid" ] && pass "$mid_step failures in the middle of a step" ||
  fail "only $mid_step failures in the middle of a step"
finish_vm
