#!/bin/bash
# Scenario: a process outside the units vmlaunch stops holds /dev/dri/card0 open.
# vmlaunch refuses before changing anything (exit 4, the host check) and names the
# process (pid and command); the display manager still runs, the snapshot is unchanged.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

sleep infinity 3</dev/dri/card0 &
holder=$!
holder_runs() { [ "$(cat "/proc/$holder/comm" 2>/dev/null)" = sleep ] && [ -e "/proc/$holder/fd/3" ]; }
wait_until 5 "the holder runs" holder_runs
echo "holder: pid $holder ($(cat /proc/$holder/comm)) holds $(readlink /proc/$holder/fd/3)"
snapshot >/tmp/snapshot.before
run_to_end
cat "$vm_log"
expect_eq "vmlaunch run exits 4 (the host cannot run this VM)" "$run_status" 4
expect_eq "the error names the holder's pid, command and the node it holds" \
  "$(grep -cE "process $holder \(sleep\)[^:]* holds /dev/dri/card0" "$vm_log")" 1
expect_eq "the display manager still runs" "$(unit_state display-manager.service)" active
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
kill "$holder"
finish_vm
