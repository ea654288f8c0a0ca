#!/bin/bash
# Scenario: the VM asks for more hugepages than the host can give (64 GiB of 2 MiB
# pages on a 2.5 GiB host): vmlaunch refuses before anything changes (exit 4, the host
# check) and says why; the display manager still runs, the snapshot is unchanged.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

def_variant /tmp/huge/gpu.ini 's/^size = .*/size = 64G/'
snapshot >/tmp/snapshot.before
run_to_end /tmp/huge/gpu.ini
cat "$vm_log"
expect_eq "vmlaunch run exits 4 (the host cannot run this VM)" "$run_status" 4
# 64 GiB of 2 MiB pages is 32768 pages, far more than this 2.5 GiB host has available.
expect_eq "the error says how many pages are missing and what to do" \
  "$(grep -cE 'hugepages: the VM needs 32768 more 2048 kB pages \(65536 MiB\) but only [0-9]+ MiB of memory is available; lower \[memory\] size or free memory' "$vm_log")" 1
expect_eq "nothing was prepared (no 'stopped' line in the log)" "$(grep -c '^stopped ' "$vm_log")" 0
expect_eq "the display manager still runs" "$(unit_state display-manager.service)" active
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish_vm
