# shellcheck shell=bash
# Sourced by the vmlaunch scenarios (inside the emulated host), after scenario-lib.sh:
# start `vmlaunch run` of the test VM in the background, wait for it, show its log.
vm=gpu
vm_def=$SYSTEM_TESTS/defs/gpu.ini
vm_log=/tmp/vmlaunch-run.log
run_pid=

# A copy of the test VM's definition with some keys changed, root-owned 0644 as
# vmlaunch demands: def_variant DIR/gpu.ini 'sed script'. The file keeps the VM's
# name (a VM is named after its file), so status, stop and restore of $vm find it.
def_variant() {
  mkdir -p "$(dirname "$1")" && sed "$2" "$vm_def" >"$1" && chmod 0644 "$1"
}

# Skips the scenario unless $VMLAUNCH reads the tests' environment (VMLAUNCH_FAIL_STEP,
# VMLAUNCH_FAIL_UNDO): only a build configured with -Dtest-seams=true contains them.
needs_test_seams() {
  grep -q -a -F VMLAUNCH_FAIL_STEP "$VMLAUNCH" && return 0
  echo "skipped: $VMLAUNCH was built without -Dtest-seams=true"
  exit 77
}

# Starts `vmlaunch run DEF` in the background; its output goes to $vm_log.
start_run() { # [def] [env assignments...]
  local def=${1:-$vm_def}
  shift
  echo "+ vmlaunch run $def &"
  env "$@" "$VMLAUNCH" run "$def" >"$vm_log" 2>&1 &
  run_pid=$!
}

# Runs `vmlaunch run` in the foreground; sets run_status, output in $vm_log.
run_to_end() { # [def] [env assignments...]
  local def=${1:-$vm_def}
  shift
  echo "+ vmlaunch run $def"
  env "$@" timeout 120 "$VMLAUNCH" run "$def" >"$vm_log" 2>&1
  run_status=$?
}

vm_running() {
  "$VMLAUNCH" status "$vm" --json 2>/dev/null | grep -Eq '"state": ?"running"'
}

# Waits until status says running; fails early when vmlaunch has already ended.
wait_running() {
  local deadline=$((SECONDS + 120))
  until vm_running; do
    if ! kill -0 "$run_pid" 2>/dev/null; then
      fail "vmlaunch run ended before the guest ran"
      return 1
    fi
    [ $SECONDS -lt $deadline ] || { fail "timed out after 120 s: the guest runs"; return 1; }
    sleep 0.2
  done
  pass "vmlaunch status says $vm is running"
}

# Waits for the background vmlaunch run; sets run_status.
wait_run_end() { # timeout_s
  local deadline=$((SECONDS + ${1:-60}))
  while kill -0 "$run_pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { fail "vmlaunch run still runs after ${1:-60} s"; kill -9 "$run_pid"; break; }
    sleep 0.2
  done
  wait "$run_pid"
  run_status=$?
}

show_log() {
  echo "---- vmlaunch's log ($vm_log) ----"
  cat "$vm_log"
  echo "---- end of vmlaunch's log ----"
}

# finish, with vmlaunch's log when something failed.
finish_vm() {
  [ $failures -eq 0 ] || show_log
  finish
}

# The stand-in display manager opens /dev/dri/card0, which a lost GPU no longer has;
# a real one (gdm, sddm) starts without it, so a drop-in makes the stand-in hold tty1
# only. Scenarios that lose the GPU call this first and remove the drop-in at the end.
display_manager_without_gpu() {
  mkdir -p /run/systemd/system/display-manager.service.d
  cat >/run/systemd/system/display-manager.service.d/starts-without-a-gpu.conf <<'UNIT'
[Service]
ExecStart=
ExecStart=/bin/sh -c 'exec 3</dev/tty1; trap "" HUP; sleep infinity &'
UNIT
  systemctl daemon-reload
}

# After a run that lost the GPU (00:02.0): the rest of its card stays on vfio-pci, the
# display manager runs again, and RUN_DIR/gpu-lost carries this boot's ID and a line
# matching PATTERN (a grep -c pattern) described as WHAT.
expect_card_kept_as_lost() { # pattern what
  local fn record=/run/vmlaunch/$vm/gpu-lost
  for fn in 0000:00:02.1 0000:00:02.2; do
    expect_eq "$fn (the same card) stays on vfio-pci" \
      "$(basename "$(readlink /sys/bus/pci/devices/$fn/driver)")" vfio-pci
  done
  expect_eq "the display manager runs again" "$(systemctl is-active display-manager.service)" active
  if [ -f "$record" ]; then
    cat "$record"
    expect_eq "the gpu-lost record carries this boot's ID" \
      "$(head -n1 "$record")" "boot_id $(cat /proc/sys/kernel/random/boot_id)"
    expect_eq "the gpu-lost record $2" "$(grep -c "$1" "$record")" 1
  else
    fail "no gpu-lost record in /run/vmlaunch/$vm"
  fi
}

module_loaded() { grep -q "^$1 " /proc/modules; }
unit_state() { systemctl is-active "$1" 2>/dev/null; }

# One field of `vmlaunch status --json` (e.g. qemu_pid).
vm_status_field() {
  "$VMLAUNCH" status "$vm" --json | jq -r ".$1"
}

# Step names from vmlaunch itself, so a new step is covered (or named) without editing
# the scenarios: plan_steps DEF all|changing prints every host step in run order, or
# only those that would change this host for DEF.
plan_steps() { # def which
  "$VMLAUNCH" plan --json "$1" | python3 -c '
import json, sys
plan = json.load(sys.stdin)
if sys.argv[1] == "all":
    names = plan["step_order"]
else:
    changing = {s["step"] for s in plan["steps"]}
    names = [n for n in plan["step_order"] if n in changing]
print(" ".join(names))' "$2"
}
