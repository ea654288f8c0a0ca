#!/bin/bash
# Scenario: a failure injected at each host-preparation step in turn
# (VMLAUNCH_FAIL_STEP=k, see hostprep/hostprep.h): every run exits 5, its error names
# the step, and the host is exactly as before after each one (all in one boot).
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
# hostprep/steps.c, in order.
steps=(checks hugepages governor units vtconsoles framebuffer modules vfio hooks)

snapshot >/tmp/snapshot.before
for k in "${!steps[@]}"; do
  step=${steps[$k]} n=$((k + 1))
  echo "== VMLAUNCH_FAIL_STEP=$n ($step)"
  run_to_end "$vm_def" VMLAUNCH_FAIL_STEP=$n
  expect_eq "step $n ($step): vmlaunch run exits 5" "$run_status" 5
  error=$(grep 'prepare the host:' "$vm_log")
  echo "$error"
  expect_eq "step $n ($step): the error names the step" \
    "$(grep -c "prepare the host: $step: injected failure" <<<"$error")" 1
  snapshot >/tmp/snapshot.after
  expect_same_snapshot "step $n ($step): the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
  [ $failures -eq 0 ] || finish_vm
done
finish_vm
