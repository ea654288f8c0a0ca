#!/bin/bash
# `vmlaunch wait --for agent` with Debian's real qemu-guest-agent in the tests' Linux
# guest: a wait started with the run returns 0 once the agent answers (state running),
# and a listener that followed the run from its start saw running, then agent-up,
# then, after `vmlaunch stop`, exited with 8.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?set by meson}"
command -v python3 >/dev/null || skip "python3 is not installed"
linux_guest # sets kernel and initrd
install_linux_guest vltest
printf '\n[guest]\nagent = yes\n' >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest 900
wait_for_run 120
timeout -s KILL 900 "$VMLAUNCH" events --json vltest >"$TMP/events" 2>"$TMP/events.err" &
listener=$!
out=$(timeout -s KILL 700 "$VMLAUNCH" wait vltest --for agent --timeout 600 --json) ||
        fail "wait --for agent exited $?: $out"
python3 -c 'import json, sys; o = json.loads(sys.argv[1]); assert (o["result"], o["state"]) == ("held", "running"), o' "$out" ||
        fail "wait --for agent printed $out"
st=$("$VMLAUNCH" status --json vltest)
python3 -c 'import json, sys; assert json.loads(sys.argv[1])["agent"] == "up"' "$st" ||
        fail "wait --for agent returned before status says agent up: $st"
out=$(timeout 60 "$VMLAUNCH" wait vltest --for agent --timeout 0) || fail "a second wait --for agent exited $?: $out"

timeout 120 "$VMLAUNCH" stop vltest >/dev/null 2>&1 || fail "stop failed"
wait_vm_exit 120
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8"
wait "$listener" || fail "events exited $?: $(cat "$TMP/events.err")"
python3 - "$TMP/events" <<'PY' || fail "the events are wrong: $(cat "$TMP/events")"
import json, sys
names = [json.loads(l)["event"] for l in open(sys.argv[1])]
assert names[0] == "hello", names
assert "running" in names and "agent-up" in names, names
assert names.index("running") < names.index("agent-up") < names.index("exited"), names
assert names[-1] == "exited", names
PY
echo "ok"
