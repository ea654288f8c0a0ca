#!/bin/bash
# Scenario: `vmlaunch start` through systemd, with the project's vmlaunch@.service (as
# in vmlaunch_systemd_unit): it returns 0 once the unit is active and the guest runs
# (the start job ends "done" only after READY=1), says "already running" for a running
# unit, gives up after --timeout with 14 while the unit keeps starting, returns at once
# with --no-block; a start that fails (a definition this host cannot run) exits with
# vmlaunch run's own status (4), names it, and shows the unit's last log lines; the
# host is as before after each.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
unit=vmlaunch@$vm.service

configured=$BUILD_ROOT/systemd/vmlaunch@.service
bindir=$(sed -n 's|^ExecStart=\(.*\)/vmlaunch run %i$|\1|p' "$configured")
sed "s|^\(Exec[A-Za-z]*=\)$bindir/vmlaunch |\1$VMLAUNCH |" "$configured" >/run/systemd/system/vmlaunch@.service
config_dir=$(sed -n 's/^#define VMLAUNCH_CONFIG_DIR "\(.*\)"$/\1/p' "$BUILD_ROOT"/version.h)
mkdir -p "$config_dir" && install -m 0644 -o root -g root "$vm_def" "$config_dir/$vm.ini"
# "big": the same VM asking for more hugepages than this host has: refused, exit 4
sed '/^name = gpu$/d; s/^size = 128M/size = 64G/' "$vm_def" >"$config_dir/big.ini" && chmod 0644 "$config_dir/big.ini"
must systemctl daemon-reload
expect_eq "the unit waits for vmlaunch's own deadline (TimeoutStartSec=infinity)" \
  "$(systemctl show -P TimeoutStartUSec "$unit")" infinity

# start_vm ARGS...: runs `vmlaunch start ARGS` with no terminal; sets out, err, status.
start_vm() {
  echo "+ vmlaunch start $*"
  out=$(timeout 300 "$VMLAUNCH" start "$@" </dev/null 2>/tmp/start.err)
  status=$?
  err=$(cat /tmp/start.err)
  echo "$err"
  [ -z "$out" ] || echo "stdout: $out"
}
wait_inactive() {
  local u=$1
  inactive() { [ "$(unit_state "$u")" != active ] && [ "$(unit_state "$u")" != activating ] &&
    [ "$(unit_state "$u")" != deactivating ]; }
  wait_until 120 "$u ends" inactive
}

snapshot >/tmp/snapshot.before
start_vm "$vm"
expect_eq "vmlaunch start exits 0" "$status" 0
expect_eq "it says the VM is ready" "$(tail -1 <<<"$err")" "vmlaunch start: $vm is ready ($unit is active)"
expect_eq "$unit is active when it returns" "$(unit_state "$unit")" active
if vm_running; then pass "vmlaunch status says $vm is running"; else fail "vmlaunch status says $vm is running"; fi
expect_eq "0000:00:02.0 is on vfio-pci" "$(driver_of 0000:00:02.0)" vfio-pci

start_vm --json "$vm"
expect_eq "a second start exits 0" "$status" 0
expect_eq "it says already running" "$err" "vmlaunch start: $vm is already running ($unit is active)"
expect_eq "--json: vm, unit, result, exit_code" "$(jq -c '[.vm, .unit, .result, .exit_code]' <<<"$out")" \
  "[\"$vm\",\"$unit\",\"already-running\",0]"
must systemctl stop "$unit"
wait_inactive "$unit"
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before after systemctl stop" /tmp/snapshot.before /tmp/snapshot.after

# --timeout: the guest takes more than a second to be ready under TCG
start_vm --timeout 1 --json "$vm"
expect_eq "--timeout 1 gives up with exit 14" "$status" 14
expect_eq "--json says it is still waiting" "$(jq -c '[.result, .exit_code]' <<<"$out")" '["waiting",14]'
unit_active() { [ "$(unit_state "$unit")" = active ]; }
if wait_until 300 "the unit goes on starting and becomes active" unit_active; then
  pass "the unit went on starting and became active"
else
  systemctl status --no-pager "$unit" | head -n 20
  journalctl -u "$unit" -o short-monotonic --no-pager | tail -n 80
fi
must systemctl stop "$unit"
wait_inactive "$unit"

start_vm --no-block "$vm"
expect_eq "--no-block exits 0" "$status" 0
expect_eq "--no-block returns before the unit is active" "$([ "$(unit_state "$unit")" != active ] && echo yes)" yes
wait_until 180 "the queued start makes the unit active" unit_active &&
  pass "the queued start made the unit active"
must systemctl stop "$unit"
wait_inactive "$unit"
snapshot >/tmp/snapshot.after2
expect_same_snapshot "the host is exactly as before after the other starts" /tmp/snapshot.before /tmp/snapshot.after2

# a start that fails: vmlaunch run refuses (hugepages) and exits 4 in the unit
start_vm --json big
expect_eq "a failed start exits with vmlaunch run's status 4" "$status" 4
expect_eq "it names the job result and vmlaunch run's exit" \
  "$(grep -c "^vmlaunch start: starting vmlaunch@big.service failed (job result 'failed'): vmlaunch run exited with 4 (this host cannot run the VM)$" <<<"$err")" 1
expect_eq "--json: result failed, exit_code 4, run_exit_status 4" \
  "$(jq -c '[.result, .exit_code, .run_exit_status, .run_exit_meaning]' <<<"$out")" \
  '["failed",4,4,"this host cannot run the VM"]'
# the unit's own log of this invocation (journald may lag behind the job's end by a
# moment: the lines are checked only when start found them)
if grep -q '^---- the last lines of vmlaunch@big.service' <<<"$err"; then
  expect_eq "the log lines shown include vmlaunch run's refusal (hugepages)" \
    "$([ "$(grep -c hugepage <<<"$err")" -ge 1 ] && echo yes)" yes
  expect_eq "the invocation id is given" "$(jq -r '.invocation_id | length' <<<"$out")" 32
else
  expect_eq "without log lines it points at journalctl" \
    "$(grep -c 'journalctl -u vmlaunch@big.service' <<<"$err")" 1
fi
expect_eq "the display manager runs" "$(unit_state display-manager.service)" active
snapshot >/tmp/snapshot.after3
expect_same_snapshot "a refused start changed nothing" /tmp/snapshot.before /tmp/snapshot.after3

start_vm nosuchvm
expect_eq "an unknown VM exits 3 before systemd is asked" "$status" 3
expect_eq "no unit was made for it" "$(systemctl list-units --all --plain --no-legend 'vmlaunch@nosuchvm*' | wc -l)" 0
[ $failures -eq 0 ] || { echo "---- journal ----"; journalctl -u "$unit" -u vmlaunch@big.service --no-pager -o cat | tail -n 60; }
finish
