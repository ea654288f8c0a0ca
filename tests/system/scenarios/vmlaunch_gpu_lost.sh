#!/bin/bash
# Scenario: the GPU stops answering during the run. A release/end hook (run on restore,
# after QEMU is gone and before vfio-pci gives anything back) removes the VGA function
# 00:02.0 from the PCI bus, as a card that fell off its link looks to the host. vmlaunch
# ends without hanging, exits 16, names the GPU, keeps every function of that card on
# vfio-pci, restores everything else (the display manager runs again) and lists what
# went with the GPU (its console), writes RUN_DIR/gpu-lost with this boot's ID, and
# refuses the next run with the reboot message; `restore` afterwards changes nothing.
# The stand-in display manager opens /dev/dri/card0, which a lost GPU no longer has; a
# real one (gdm, sddm) starts without it, so a drop-in makes the stand-in hold tty1 only.
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

gpu=0000:00:02.0
hooks=/etc/vmlaunch/hooks/$vm/release/end
mkdir -p "$hooks"
cat >"$hooks/10-gpu-falls-off" <<HOOK
#!/bin/sh
echo 1 > /sys/bus/pci/devices/$gpu/remove
HOOK
chmod 0755 "$hooks/10-gpu-falls-off"
display_manager_without_gpu

start_run
wait_running || finish_vm
echo "+ vmlaunch stop $vm"
"$VMLAUNCH" stop "$vm" >/dev/null 2>&1 &
wait_run_end 180
show_log
expect_eq "vmlaunch run exits 16 (the GPU did not come back healthy)" "$run_status" 16
expect_eq "the log names the lost GPU and the reboot" \
  "$(grep -c "the GPU $gpu did not come back healthy.*needs a host reboot" "$vm_log")" 1
[ -e /sys/bus/pci/devices/$gpu ] && fail "$gpu is still on the bus: the hook did not run"
expect_card_kept_as_lost "^$gpu " "names $gpu"
expect_eq "what went with the GPU is listed, and the reboot resets it" \
  "$(grep -c "could not be undone while the GPU is lost.*reboot" "$vm_log")" 1
[ -e /run/vmlaunch/$vm/journal ] && fail "the journal was kept: a later restore would fail on the lost GPU again"

run_to_end
show_log
expect_eq "a new run is refused with exit 16" "$run_status" 16
expect_eq "the refusal says the GPU needs a host reboot" \
  "$(grep -c "needs a host reboot" "$vm_log")" 1
expect_eq "the refused run changed nothing: the display manager still runs" \
  "$(systemctl is-active display-manager.service)" active

echo "+ vmlaunch restore $vm"
"$VMLAUNCH" restore "$vm"
expect_eq "restore afterwards succeeds (there is nothing left to undo)" "$?" 0
expect_eq "and leaves 0000:00:02.1 on vfio-pci" \
  "$(basename "$(readlink /sys/bus/pci/devices/0000:00:02.1/driver)")" vfio-pci
rm -rf /etc/vmlaunch/hooks /run/systemd/system/display-manager.service.d
finish_vm
