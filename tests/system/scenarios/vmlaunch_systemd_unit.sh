#!/bin/bash
# Scenario: the VM as a systemd service with the project's unit file
# (systemd/vmlaunch@.service.in, configured by meson): `systemctl start vmlaunch@gpu`
# returns once vmlaunch reports READY=1 (the guest runs), `systemctl stop` shuts it
# down gracefully (vmlaunch exits 8, a success by SuccessExitStatus), the host is
# restored and the unit is inactive, not failed.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
unit=vmlaunch@$vm.service

# The unit as meson configured it, run from the build tree instead of the prefix.
configured=$BUILD_ROOT/systemd/vmlaunch@.service
[ -f "$configured" ] || { fail "no configured unit $configured"; finish; }
bindir=$(sed -n 's|^ExecStart=\(.*\)/vmlaunch run %i$|\1|p' "$configured")
expect_eq "the configured unit runs \$bindir/vmlaunch run %i" "$([ -n "$bindir" ] && echo yes)" yes
sed "s|^\(Exec[A-Za-z]*=\)$bindir/vmlaunch |\1$VMLAUNCH |" "$configured" >/run/systemd/system/vmlaunch@.service
grep '^Exec' /run/systemd/system/vmlaunch@.service
# Where this build reads NAME.ini (/etc/vmlaunch for prefix /usr, else PREFIX/etc/vmlaunch).
config_dir=$(sed -n 's/^#define VMLAUNCH_CONFIG_DIR "\(.*\)"$/\1/p' "$BUILD_ROOT"/version.h)
expect_eq "the build's config dir is known" "$([ -n "$config_dir" ] && echo yes)" yes
mkdir -p "$config_dir" && install -m 0644 -o root -g root "$vm_def" "$config_dir/$vm.ini"
must systemctl daemon-reload

show_unit_log() {
  echo "---- journal of $unit ----"
  journalctl -u "$unit" --no-pager -o cat | tail -n 60
  echo "---- end of journal ----"
}

snapshot >/tmp/snapshot.before
must timeout 180 systemctl start "$unit"
expect_eq "$unit is active once systemctl start returns" "$(unit_state "$unit")" active
if vm_running; then pass "vmlaunch status says $vm is running"; else fail "vmlaunch status says $vm is running"; fi
expect_eq "the display manager is stopped" "$(unit_state display-manager.service)" inactive
expect_eq "0000:00:02.0 is on vfio-pci" "$(driver_of 0000:00:02.0)" vfio-pci

must timeout 180 systemctl stop "$unit"
expect_eq "$unit is inactive (not failed) after systemctl stop" "$(unit_state "$unit")" inactive
# systemd logs no exit status for a success (8 is one by SuccessExitStatus) and has
# reset ExecMainStatus by now: vmlaunch's own last word says how it ended.
expect_eq "the unit's result is success" "$(systemctl show -P Result "$unit")" success
expect_eq "vmlaunch stopped the guest on request" \
  "$(journalctl -u "$unit" -o cat --no-pager | grep -c '^stopped on request')" 1
dm_active() { [ "$(unit_state display-manager.service)" = active ]; }
wait_until 10 "the display manager runs again" dm_active && pass "the display manager runs again"
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
[ $failures -eq 0 ] || show_unit_log
finish
