#!/bin/bash
# Scenario: Wake-on-LAN through the project's units (systemd/vmlaunch-wake.socket on UDP
# port 9, vmlaunch-wake.service, vmlaunch@.service, Exec paths pointed at the build):
# magic packets sent to 127.0.0.1:9 for a MAC no definition has, for the MAC of a VM
# without wake_on_lan, and a malformed one start nothing and are logged; a packet for
# the MAC of the test VM, which has [session] wake_on_lan = yes, starts vmlaunch@gpu and
# the guest runs; vmlaunch-wake.service exits once idle; the host is restored after
# `systemctl stop`.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
unit=vmlaunch@$vm.service
mac=52:54:00:12:34:56
mac_other=52:54:00:00:00:02
mac_unknown=52:54:00:99:99:99

configured=$BUILD_ROOT/systemd/vmlaunch@.service
bindir=$(sed -n 's|^ExecStart=\(.*\)/vmlaunch run %i$|\1|p' "$configured")
# PrivateTmp and ProtectHome go too: the build may live under /tmp or /root (a CI
# checkout), which they hide.
for u in vmlaunch@.service vmlaunch-wake.service; do
  sed -e "s|^\(Exec[A-Za-z]*=\)$bindir/vmlaunch |\1$VMLAUNCH |" -e '/^PrivateTmp=/d' -e '/^ProtectHome=/d' \
    "$BUILD_ROOT/systemd/$u" >"/run/systemd/system/$u"
done
cp "$SOURCE_ROOT/systemd/vmlaunch-wake.socket" /run/systemd/system/
grep -h '^Exec' /run/systemd/system/vmlaunch-wake.service
config_dir=$(sed -n 's/^#define VMLAUNCH_CONFIG_DIR "\(.*\)"$/\1/p' "$BUILD_ROOT"/version.h)
mkdir -p "$config_dir"
{ cat "$vm_def"; printf '\n[net.lan]\nmode = user\nmac = %s\n\n[session]\nwake_on_lan = yes\n' "$mac"; } >"$config_dir/$vm.ini"
# "other": a valid VM with a MAC but without wake_on_lan
{ sed '/^name = gpu$/d' "$vm_def"; printf '\n[net.lan]\nmode = user\nmac = %s\n' "$mac_other"; } >"$config_dir/other.ini"
chmod 0644 "$config_dir/$vm.ini" "$config_dir/other.ini"
must "$VMLAUNCH" check "$vm" >/dev/null
must systemctl daemon-reload
must systemctl start vmlaunch-wake.socket
expect_eq "vmlaunch-wake.socket listens" "$(unit_state vmlaunch-wake.socket)" active

send_udp() { # hex payload
  python3 -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(bytes.fromhex(sys.argv[1]), ("127.0.0.1", 9))' "$1"
}
magic_for() { # MAC
  local hex=${1//:/}
  printf 'ffffffffffff'
  printf "$hex%.0s" {1..16}
}
wake_log() { journalctl -u vmlaunch-wake.service -o cat --no-pager; }
logged() { wake_log | grep -qF -- "$1"; }

# The snapshot leaves out the wake units themselves: they are this test's set-up.
snap() { snapshot | grep -v 'vmlaunch-wake'; }
snap >/tmp/snapshot.before

echo "+ magic packet for $mac_unknown"
send_udp "$(magic_for $mac_unknown)"
wait_until 60 "the unknown MAC is logged" logged "magic packet for $mac_unknown ignored: no definition in $config_dir with wake_on_lan = yes has this MAC" &&
  pass "a packet for an unknown MAC is ignored and logged"
echo "+ magic packet for $mac_other (other.ini, no wake_on_lan)"
send_udp "$(magic_for $mac_other)"
wait_until 60 "the MAC of a VM without wake_on_lan is logged" logged "magic packet for $mac_other ignored: it is the MAC of other, which does not have [session] wake_on_lan = yes" &&
  pass "a packet for a VM without wake_on_lan is ignored and logged"
echo "+ a malformed packet, twice"
send_udp "ffffffffffff0011"
send_udp "ffffffffffff0011"
wait_until 60 "the malformed packet is logged" logged "that is no magic packet (8 bytes)" &&
  pass "a malformed packet is ignored and logged"
expect_eq "the same junk twice is logged once" "$(wake_log | grep -c 'that is no magic packet (8 bytes)')" 1
expect_eq "nothing was started" "$(systemctl list-units --all --plain --no-legend 'vmlaunch@*' | grep -c ' active ')" 0
expect_eq "$unit is not active" "$([ "$(unit_state "$unit")" = active ] && echo active)" ""

echo "+ magic packet for $mac ($vm, wake_on_lan = yes)"
send_udp "$(magic_for $mac)"
unit_active() { [ "$(unit_state "$unit")" = active ]; }
wait_until 240 "the packet starts $unit" unit_active && pass "the magic packet started $unit"
if vm_running; then pass "vmlaunch status says $vm is running"; else fail "vmlaunch status says $vm is running"; fi
expect_eq "0000:00:02.0 is on vfio-pci" "$(driver_of 0000:00:02.0)" vfio-pci
expect_eq "the wake service logged the start" "$(wake_log | grep -c "magic packet for $mac from 127.0.0.1: starting $unit")" 1
wake_idle() { [ "$(unit_state vmlaunch-wake.service)" = inactive ]; }
wait_until 60 "vmlaunch-wake.service exits when idle" wake_idle && pass "vmlaunch-wake.service exited when idle"
expect_eq "the socket still listens for the next packet" "$(unit_state vmlaunch-wake.socket)" active
expect_eq "vmlaunch-wake.service ended well" "$(systemctl show -P Result vmlaunch-wake.service)" success

must timeout 180 systemctl stop "$unit"
expect_eq "$unit is inactive after systemctl stop" "$(unit_state "$unit")" inactive
dm_active() { [ "$(unit_state display-manager.service)" = active ]; }
wait_until 30 "the display manager runs again" dm_active
must systemctl stop vmlaunch-wake.socket
snap >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
[ $failures -eq 0 ] || { echo "---- vmlaunch-wake ----"; wake_log | tail -n 40; echo "---- $unit ----"; journalctl -u "$unit" -o cat --no-pager | tail -n 40; }
finish
