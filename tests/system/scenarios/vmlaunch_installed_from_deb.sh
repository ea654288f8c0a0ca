#!/bin/bash
# Scenario: vmlaunch installed from its Debian package (the .deb the package suite
# built, kept as $BUILD_ROOT/package/vmlaunch.deb), then the systemd-unit scenario
# with the installed pieces only: `dpkg -i` puts /usr/bin/vmlaunch, vmlaunch@.service
# and the sysusers file in place (its postinst creates vmlaunch-qemu), the definition
# goes to /etc/vmlaunch, `systemctl start vmlaunch@gpu` returns once the guest runs,
# `systemctl stop` ends it gracefully, the host is restored, `dpkg -r` removes it.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
unit=vmlaunch@$vm.service
deb=$BUILD_ROOT/package/vmlaunch.deb
[ -f "$deb" ] || { fail "no $deb: the package suite (tests/package/deb_builds.sh) builds it first"; finish; }

# man-db's trigger rebuilds the whole manual database, minutes under TCG: not what
# this scenario is about (the host's changes are its tmpfs's, gone at power-off).
rm -f /var/lib/man-db/auto-update
must dpkg -i "$deb"
expect_eq "dpkg says vmlaunch is installed" "$(dpkg-query -W -f '${Status}' vmlaunch)" "install ok installed"
VMLAUNCH=/usr/bin/vmlaunch
expect_eq "the installed vmlaunch runs" "$("$VMLAUNCH" --version | cut -d' ' -f1)" vmlaunch
expect_eq "the installed vmlaunch is a release build" \
  "$(grep -c -a -F VMLAUNCH_SYSROOT "$VMLAUNCH")" 0
expect_eq "QEMU's user exists" "$(id -un vmlaunch-qemu 2>/dev/null)" vmlaunch-qemu
expect_eq "systemd knows the installed unit" \
  "$(systemctl show -P FragmentPath vmlaunch@x.service | grep -c '^/.*lib/systemd/system/vmlaunch@.service$')" 1
expect_eq "the man page is installed" "$([ -f /usr/share/man/man1/vmlaunch.1.gz ] && echo yes)" yes
mkdir -p /etc/vmlaunch && install -m 0644 -o root -g root "$vm_def" "/etc/vmlaunch/$vm.ini"

show_unit_log() {
  echo "---- journal of $unit ----"
  journalctl -u "$unit" --no-pager -o cat | tail -n 60
  echo "---- end of journal ----"
}

snapshot >/tmp/snapshot.before
must timeout 180 systemctl start "$unit"
expect_eq "$unit is active once systemctl start returns" "$(unit_state "$unit")" active
if vm_running; then pass "vmlaunch status says $vm is running"; else fail "vmlaunch status says $vm is running"; fi
expect_eq "0000:00:02.0 is on vfio-pci" "$(driver_of 0000:00:02.0)" vfio-pci
must timeout 180 systemctl stop "$unit"
expect_eq "$unit is inactive (not failed) after systemctl stop" "$(unit_state "$unit")" inactive
expect_eq "the unit's result is success" "$(systemctl show -P Result "$unit")" success
dm_active() { [ "$(unit_state display-manager.service)" = active ]; }
wait_until 10 "the display manager runs again" dm_active && pass "the display manager runs again"
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
[ $failures -eq 0 ] || show_unit_log
must dpkg -r vmlaunch
expect_eq "dpkg -r removed the binary" "$([ -e /usr/bin/vmlaunch ] && echo present || echo gone)" gone
finish
