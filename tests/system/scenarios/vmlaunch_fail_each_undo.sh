#!/bin/bash
# Scenario: while a failed preparation is rolled back, the undo of one step fails
# (VMLAUNCH_FAIL_UNDO=j, after every step made its changes: VMLAUNCH_FAIL_STEP=LAST:99,
# LAST the last step in plan --json's step_order).
# For each step j that changes this host: run exits 9 and names each change it could
# not undo, keeps the journal and says to run `vmlaunch restore`; a new run is refused
# while that journal exists; `vmlaunch restore` then puts the host back exactly.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
needs_test_seams
def_variant /tmp/isolated/gpu.ini 's/^\[host\]$/[host]\nisolate_cpus = yes/'
vm_def=/tmp/isolated/gpu.ini
# The steps that change this host (isolate_cpus on), as vmlaunch plans them. Those that
# cannot change anything here are named with the unit tests that undo them instead.
declare -A covered_elsewhere=(
  [checks]="changes nothing on any host"
  [governor]="no cpufreq here: test_failing_undo_is_named_and_a_second_restore_finishes (rtx2060 fixture)"
  [framebuffer]="bochs has taken the EFI framebuffer over: test_failing_undo_is_named_and_a_second_restore_finishes"
  [hooks]="hooks make no change to undo: test_hooks_run_with_vm_and_stage_and_a_failing_prepare_hook_rolls_back"
  [reset_method]="gpu.ini sets no [gpu] reset_method: test_reset_method_auto_writes_device_specific_for_the_run_and_puts_it_back (navi10 fixture)"
)
read -ra planned <<<"$(plan_steps "$vm_def" changing)"
steps=()
for step in $(plan_steps "$vm_def" all); do
  if [[ " ${planned[*]} " == *" $step "* && -z "${covered_elsewhere[$step]:-}" ]]; then
    steps+=("$step")
  elif [ -n "${covered_elsewhere[$step]:-}" ]; then
    echo "not here: $step (${covered_elsewhere[$step]})"
  else
    fail "step $step changes nothing on this host and names no test that covers it"
  fi
done
echo "steps that change this host: ${steps[*]}"
read -ra all_steps <<<"$(plan_steps "$vm_def" all)"
last=${all_steps[${#all_steps[@]}-1]}
[ ${#steps[@]} -ge 6 ] || fail "only ${#steps[@]} steps change this host: ${steps[*]}"

snapshot >/tmp/snapshot.before
for step in "${steps[@]}"; do
  echo "== VMLAUNCH_FAIL_UNDO=$step"
  run_to_end "$vm_def" VMLAUNCH_FAIL_STEP="$last:99" VMLAUNCH_FAIL_UNDO=$step
  cat "$vm_log"
  expect_eq "$step: vmlaunch run exits 9" "$run_status" 9
  [ "$run_status" -eq 9 ] || finish_vm
  expect_eq "$step: the log names the changes of $step it could not undo" \
    "$(grep -c "^error:   $step: could not .*: injected failure$" "$vm_log")" \
    "$(grep -c "^error:   $step: could not" "$vm_log")"
  grep -q "^error:   $step: could not" "$vm_log" || fail "$step: no change of $step named"
  expect_eq "$step: the log says to run vmlaunch restore" \
    "$(grep -c 'run `vmlaunch restore gpu`' "$vm_log")" 1

  run_to_end "$vm_def"
  expect_eq "$step: a new run is refused while the journal exists (exit 10)" "$run_status" 10
  cat "$vm_log"

  out=$("$VMLAUNCH" restore "$vm" 2>&1)
  status=$?
  echo "$out"
  expect_eq "$step: vmlaunch restore exits 0" "$status" 0
  snapshot >/tmp/snapshot.after
  expect_same_snapshot "$step: the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
  [ $failures -eq 0 ] || finish_vm
done
finish_vm
