#!/bin/bash
# Scenario: the host starts from state that is not the default for each kind of change
# vmlaunch makes, and after a run the host is back to exactly that state, not to the
# defaults: 2 MiB pages someone else already reserved, user.slice already restricted to
# CPU 1 (isolate_cpus then restricts it to CPU 0), a parameter of a GPU driver module set
# at run time (vmlaunch unloads and reloads that module), the frame buffer console
# already unbound. (No cpufreq here: the governor's non-default start is a unit test.)
# shellcheck source=tests/system/scenario-lib.sh
source "$SYSTEM_TESTS/scenario-lib.sh"
# shellcheck source=tests/system/scenarios/vmlaunch-lib.sh
source "$SYSTEM_TESTS/scenarios/vmlaunch-lib.sh"

pool=/sys/kernel/mm/hugepages/hugepages-2048kB
must sh -c "echo 5 >$pool/nr_hugepages"
must timeout 60 systemctl set-property --runtime user.slice AllowedCPUs=1
must sh -c "echo 7 >/sys/module/snd_hda_intel/parameters/power_save"
must sh -c "echo 0 >/sys/class/vtconsole/vtcon1/bind"
isolated=/tmp/isolated/gpu.ini
def_variant "$isolated" 's/^\[host\]$/[host]\nisolate_cpus = yes/'

snapshot >/tmp/snapshot.before
start_run "$isolated"
wait_running || finish_vm
expect_eq "user.slice is on the emulator CPU while the guest runs" \
  "$(systemctl show -p AllowedCPUs --value user.slice)" 0
must "$VMLAUNCH" stop "$vm"
wait_run_end 60
expect_eq "vmlaunch run exits 8 (stopped)" "$run_status" 8
expect_eq "user.slice is back on CPU 1" "$(systemctl show -p AllowedCPUs --value user.slice)" 1
expect_eq "the 5 pages reserved before are still there" "$(cat $pool/nr_hugepages)" 5
expect_eq "snd_hda_intel's power_save is 7 again" \
  "$(cat /sys/module/snd_hda_intel/parameters/power_save)" 7
expect_eq "the frame buffer console is still unbound" "$(cat /sys/class/vtconsole/vtcon1/bind)" 0
snapshot >/tmp/snapshot.after
expect_same_snapshot "the host is exactly as before" /tmp/snapshot.before /tmp/snapshot.after
finish_vm
