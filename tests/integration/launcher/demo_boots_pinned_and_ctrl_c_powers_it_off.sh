#!/bin/bash
# The demo as tools/demo runs it, without the terminal: examples/demo-definition writes
# the definition (the Linux guest, as many pinned vCPUs as this machine allows), the
# short plan shows the steps and pins but not the command line, the run pins every
# thread before the guest runs, and SIGINT (Ctrl-C) shuts the guest down through its
# agent: exit 8, no quit after a timeout, no warning, the host as it was.
. "$(dirname "$0")/lib.sh"
linux_guest # the demo's guest; skips only without network

out=$TMP/demo
mkdir -p "$out"
setup=$("$SOURCE_ROOT/examples/demo-definition" --build "$BUILD_ROOT" --out "$out" 2>&1) ||
        fail "demo-definition: $setup"
echo "$setup"
grep -q "^\[boot\]" "$out/demo.ini" || fail "the demo definition does not boot the Linux guest: $setup"
# beside the definition, not in the build folder QEMU's user may not pass (a home folder)
grep -qx "kernel = $out/vmlinuz" "$out/demo.ini" && grep -qx "initrd = $out/initramfs.cpio.gz" "$out/demo.ini" ||
        fail "the guest's kernel and initramfs are not beside the definition: $(grep -A3 '^\[boot\]' "$out/demo.ini")"
install_def demo "$out/demo.ini"
cores=$(cat /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list | sort -u | wc -l)

plan=$("$VMLAUNCH" plan --brief demo 2>&1) || fail "plan --brief: $plan"
grep -q "^QEMU command line: .* with [0-9]* options" <<<"$plan" || fail "the short plan does not sum up the command line: $plan"
! grep -q "^    -machine" <<<"$plan" || fail "the short plan prints the command line: $plan"
grep -q "^Host steps:" <<<"$plan" || fail "the short plan has no host steps: $plan"
if [ "$cores" -ge 2 ]; then
        grep -q "^  vCPU 0  *CPU [0-9]" <<<"$plan" || fail "the short plan shows no pin for vCPU 0: $plan"
fi

start_vm demo 600
wait_for_log "the guest agent answers" 480
wait_for_log "qemu: guest: a root shell on the serial console follows" 60
qemu_pid=$(state_get qemu_pid)
if [ "$cores" -ge 2 ]; then
        # each thread where the log says, and the log says a CPU, not "(unpinned)"
        for what in "vCPU 0" "iothread io1" "emulator"; do
                line=$(grep "^$what (\(tid\|pid\) [0-9]*) -> CPUs\? [0-9]" "$LOG") ||
                        fail "the log does not show $what on its CPU"
                tid=$(sed 's/.*(\(tid\|pid\) \([0-9]*\)).*/\2/' <<<"$line")
                want=$(sed 's/.* -> CPUs\{0,1\} \([0-9,-]*\).*/\1/' <<<"$line")
                [ "$(cpus_of "$qemu_pid" "$tid")" = "$want" ] ||
                        fail "$what runs on CPUs $(cpus_of "$qemu_pid" "$tid"), the log says $want"
        done
else
        grep -q "not pinned: this machine has one core" <<<"$setup" || fail "one core and no reason given"
fi
! grep -q "(unpinned)" "$LOG" || [ "$cores" -lt 2 ] || fail "a thread runs unpinned"

kill -INT "$(state_get pid)"
wait_vm_exit 60
[ "$VM_STATUS" = 8 ] || fail "Ctrl-C: vmlaunch exited $VM_STATUS, expected 8"
grep -q "asked the guest agent to shut the guest down" "$LOG" || fail "the agent was not asked to shut down"
grep -q "qemu: .*guest: shutdown by the agent" "$LOG" || fail "the guest did not shut down through its agent"
grep -q "QEMU is shutting down: guest-shutdown" "$LOG" || fail "QEMU did not end by the guest's own shutdown"
! grep -qi "quitting QEMU\|warning\|did not shut down" "$LOG" || fail "not a clean shutdown: $(grep -i "quitting\|warning\|did not shut down" "$LOG")"
[ "$(tail -n 1 "$LOG")" = "the host is as it was: 1 change(s) undone (above)" ] ||
        fail "the last line does not say what was restored: $(tail -n 1 "$LOG")"
! grep -q $'\x1b\|\\\\x1b' "$LOG" || fail "terminal escapes in the log"
echo "ok"
