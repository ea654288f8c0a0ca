#!/bin/bash
# [guest] agent with Debian's real qemu-guest-agent in the tests' Linux guest, which
# ignores the ACPI power button (like a locked Windows screen):
# - [session] ready = agent: the run is ready (status, the "ready" event) only once
#   the agent answered, and `status --json` says agent "up";
# - `vmlaunch guest` passes commands to it and reports its errors (exit 1);
# - `vmlaunch stop` asks the agent first, so the guest powers itself off long before
#   the shutdown timeout (30 s) would quit QEMU; exit 8.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?set by meson}"
linux_guest # sets kernel and initrd
install_linux_guest vltest
printf '\n[guest]\nagent = yes\n\n[session]\nready = agent\nready_timeout = 900\n' \
        >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest 900
wait_for_log "is running" 120
st=$("$VMLAUNCH" status --json vltest) || fail "status failed: $st"
[ "$(jq -r '.agent + " " + (.ready | tostring)' <<<"$st")" = "down false" ] ||
        fail "before the agent answers, status should say agent down, not ready: $st"
wait_for_log "session vltest is ready (the guest agent answers)" 600
st=$("$VMLAUNCH" status --json vltest)
[ "$(jq -r '.agent + " " + (.ready | tostring) + " " + .state' <<<"$st")" = "up true running" ] ||
        fail "status once the agent answers: $st"

info=$("$VMLAUNCH" guest vltest guest-info 2>&1) || fail "guest guest-info failed: $info"
jq -e '.version | length > 0' <<<"$info" >/dev/null || fail "guest-info has no version: $info"
out=$("$VMLAUNCH" guest vltest '{"execute": "guest-no-such-command"}' 2>&1)
[ $? = 1 ] || fail "an unknown agent command should exit 1: $out"
grep -qi "not found\|command" <<<"$out" || fail "the agent's error is not quoted: $out"

start=$SECONDS
out=$(timeout 120 "$VMLAUNCH" stop vltest 2>&1) || fail "stop failed: $out"
wait_vm_exit 60
took=$((SECONDS - start))
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8 (stopped on request)"
grep -q "asked the guest agent to shut the guest down" "$LOG" || fail "vmlaunch did not ask the agent"
grep -q "guest: shutdown by the agent" "$LOG" || fail "the guest's agent did not shut it down"
grep -q "QEMU is shutting down: guest-shutdown (asked by the guest)" "$LOG" ||
        fail "QEMU did not report a guest poweroff"
! grep -q "did not shut down within" "$LOG" || fail "the agent was ignored: QEMU got quit"
[ ! -e "$(RUN_DIR_OF vltest)" ] || fail "the run dir was left behind"
echo "ok: ready once the agent answered; the agent shut the guest down $took s after vmlaunch stop"
