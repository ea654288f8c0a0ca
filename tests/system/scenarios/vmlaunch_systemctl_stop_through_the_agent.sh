#!/bin/bash
# needs: linux-guest
# Scenario: `systemctl stop vmlaunch@agent` shuts a guest down through its guest agent.
# The nested VM is the integration tests' Linux guest (Debian's kernel and the real
# qemu-guest-agent; host.sh builds it for scenarios that need it), which ignores the
# ACPI power button like a locked Windows screen. `systemctl start` returns only once
# the agent answers ([session] ready = agent); `systemctl stop` makes vmlaunch ask the
# agent, the guest powers itself off, and QEMU is never told to quit (the shutdown
# timeout is far beyond the test's). The unit is inactive, not failed, afterwards.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"
vm=agent
unit=vmlaunch@$vm.service

configured=$BUILD_ROOT/systemd/vmlaunch@.service
[ -f "$configured" ] || { fail "no configured unit $configured"; finish; }
bindir=$(sed -n 's|^ExecStart=\(.*\)/vmlaunch run %i$|\1|p' "$configured")
sed "s|^\(Exec[A-Za-z]*=\)$bindir/vmlaunch |\1$VMLAUNCH |" "$configured" >/run/systemd/system/vmlaunch@.service
config_dir=$(sed -n 's/^#define VMLAUNCH_CONFIG_DIR "\(.*\)"$/\1/p' "$BUILD_ROOT"/version.h)
kernel=$(readlink -f "$BUILD_ROOT/system-host/vmlinuz")
initrd=$BUILD_ROOT/linux-guest/initramfs.cpio.gz
[ -f "$kernel" ] && [ -f "$initrd" ] || { fail "no Linux guest ($kernel, $initrd)"; finish; }
mkdir -p "$config_dir"
cat >"$config_dir/$vm.ini" <<INI
[vm]
name = $vm

[qemu]
accel = tcg
# Far beyond this test: a stop that ignored the agent would wait it out.
shutdown_timeout = 900

[memory]
size = 256M

[firmware]
type = bios

[boot]
kernel = $kernel
initrd = $initrd
cmdline = console=ttyS0 quiet panic=-1

[cpu]
model = max
cores = 1

[hyperv]
enabled = no

[host]
vtconsoles = off
framebuffer = off
unload_modules = off
governor = off

[guest]
agent = yes

[session]
ready = agent
ready_timeout = 800
INI
chown root:root "$config_dir/$vm.ini" && chmod 0644 "$config_dir/$vm.ini"
must systemctl daemon-reload

show_unit_log() {
  echo "---- journal of $unit ----"
  journalctl -u "$unit" --no-pager -o cat | tail -n 60
  echo "---- end of journal ----"
}

# Nested TCG: the guest takes minutes to boot and start its agent.
must timeout 840 systemctl start "$unit"
expect_eq "$unit is active once systemctl start returns" "$(unit_state "$unit")" active
st=$("$VMLAUNCH" status --json "$vm")
expect_eq "start returned with the agent up and the session ready" \
  "$(jq -r '.agent + " " + (.ready | tostring)' <<<"$st")" "up true"

start=$SECONDS
must timeout 600 systemctl stop "$unit"
took=$((SECONDS - start))
expect_eq "$unit is inactive (not failed) after systemctl stop" "$(unit_state "$unit")" inactive
expect_eq "the unit's result is success" "$(systemctl show -P Result "$unit")" success
journal=$(journalctl -u "$unit" -o cat --no-pager)
expect_eq "vmlaunch asked the guest agent to shut the guest down" \
  "$(grep -c 'asked the guest agent to shut the guest down' <<<"$journal")" 1
expect_eq "the guest powered itself off" \
  "$(grep -c 'QEMU is shutting down: guest-shutdown (asked by the guest)' <<<"$journal")" 1
expect_eq "QEMU was never told to quit" "$(grep -c 'did not shut down within' <<<"$journal")" 0
echo "systemctl stop took $took s"
[ $failures -eq 0 ] || show_unit_log
finish
