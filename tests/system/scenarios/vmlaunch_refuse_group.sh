#!/bin/bash
# Scenario: the definition names a device whose IOMMU group also holds a device the
# host needs. On q35 the ICH9 LPC bridge 00:1f.0 shares its group with the SATA
# controller 00:1f.2: `[gpu] address = 00:1f.0` is refused (exit 4) naming 00:1f.2,
# before anything changes.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

def_variant /tmp/lpc/gpu.ini 's/^address = .*/address = 00:1f.0/'
snapshot >/tmp/snapshot.before
run_to_end /tmp/lpc/gpu.ini
cat "$vm_log"
expect_eq "vmlaunch run exits 4 (the host cannot run this VM)" "$run_status" 4
expect_eq "the error names the SATA controller 00:1f.2" \
  "$(grep -c '0000:00:1f.2 (SATA controller' "$vm_log" | grep -v '^0$' | wc -l)" 1
expect_eq "the display manager still runs" "$(unit_state display-manager.service)" active
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish_vm
