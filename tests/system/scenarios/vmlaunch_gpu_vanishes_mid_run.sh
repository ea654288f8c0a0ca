#!/bin/bash
# Scenario: the GPU disappears while the guest runs. A background shell removes the VGA
# function 00:02.0 from the PCI bus (as a card whose link drops looks to the host); the
# kernel's removal then waits until QEMU lets go of the device, and asks QEMU to (the
# vfio-pci device request, which a guest without an OS never answers). vmlaunch must
# notice by itself (nobody runs `vmlaunch stop`), name the GPU, publish a gpu-lost
# event, end the guest (which lets the removal finish), exit 16 without hanging, keep
# the rest of the card on vfio-pci, restore everything else (the display manager runs
# again), write RUN_DIR/gpu-lost with this boot's ID, and refuse the next run.
# The stand-in display manager opens /dev/dri/card0, which a lost GPU no longer has; a
# real one (gdm, sddm) starts without it, so a drop-in makes the stand-in hold tty1 only.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

gpu=0000:00:02.0
display_manager_without_gpu

start_run
wait_running || finish_vm
"$VMLAUNCH" events --json "$vm" >/tmp/events.json 2>&1 &
events_pid=$!
# the listener is connected before the GPU goes: its hello line is there
wait_until 30 "vmlaunch events says hello" grep -q '"hello"' /tmp/events.json

echo "+ echo 1 > /sys/bus/pci/devices/$gpu/remove &   (blocks until QEMU lets go)"
removed_at=$SECONDS
(
  if printf 1 >/sys/bus/pci/devices/$gpu/remove; then rc=0; else rc=1; fi
  echo "remove returned $rc" >/tmp/remove.status
) &
remove_pid=$!

wait_run_end 180
ended_after=$((SECONDS - removed_at))
show_log
echo "vmlaunch ended ${ended_after} s after the removal began"
expect_eq "vmlaunch run exits 16 (the GPU is lost)" "$run_status" 16
expect_eq "the log names the GPU that disappeared while the guest ran" \
  "$(grep -c "the GPU $gpu disappeared while the guest ran" "$vm_log")" 1
expect_eq "vmlaunch ended the guest by itself, on the gentle path" \
  "$(grep -c "gpu-lost: shutting the guest down" "$vm_log")" 1
[ $ended_after -le 90 ] || fail "vmlaunch took ${ended_after} s to end after the GPU went"

# the kernel's removal finishes once QEMU is gone
deadline=$((SECONDS + 60))
while kill -0 "$remove_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
if kill -0 "$remove_pid" 2>/dev/null; then
  fail "the removal of $gpu still waits after vmlaunch ended"
else
  pass "the removal of $gpu finished ($(cat /tmp/remove.status 2>/dev/null))"
fi
[ -e /sys/bus/pci/devices/$gpu ] && fail "$gpu is still on the bus"

wait "$events_pid" 2>/dev/null
echo "---- events ----"
cat /tmp/events.json
expect_eq "the events socket carried a gpu-lost event naming $gpu" \
  "$(grep '"event": *"gpu-lost"' /tmp/events.json | grep -c "\"device\": *\"$gpu\"")" 1
expect_eq "the stopping event says why" \
  "$(grep '"event": *"stopping"' /tmp/events.json | grep -c '"reason": *"gpu-lost"')" 1

expect_card_kept_as_lost "^$gpu disappeared while the guest ran" "names $gpu as gone mid-run"
[ -e /run/vmlaunch/$vm/journal ] && fail "the journal was kept: a later restore would fail on the lost GPU again"

run_to_end
show_log
expect_eq "a new run is refused with exit 16" "$run_status" 16
expect_eq "the refusal says the GPU needs a host reboot" \
  "$(grep -c "needs a host reboot" "$vm_log")" 1
expect_eq "the refused run changed nothing: the display manager still runs" \
  "$(systemctl is-active display-manager.service)" active
rm -rf /run/systemd/system/display-manager.service.d
finish_vm
