#!/bin/bash
# `vmlaunch events` follows a whole run: a listener that connects while the host is
# being prepared (a prepare hook holds the run there) gets the hello line with that
# state (preparing, step hooks), then every event in order up to "exited" with the run's exit code (8 after
# `vmlaunch stop`), and ends with 0; --json lines are the run's own, the text form
# says the same in words.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

hooks=$TMP/hooks
mkdir -p "$hooks/vltest/prepare/begin"
# Holds the preparation until the listeners are there (bounded by [hooks] timeout).
printf '#!/bin/sh\nwhile [ ! -e %s/go ]; do sleep 0.05; done\n' "$TMP" >"$hooks/vltest/prepare/begin/10-hold"
chmod 755 "$hooks/vltest/prepare/begin/10-hold"
install_def vltest "$HERE/pinned.ini" "s/^shutdown_timeout = .*/shutdown_timeout = 1/"
printf '\n[hooks]\ndir = %s\n' "$hooks" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest
wait_for_state preparing 60 hooks
timeout -s KILL 120 "$VMLAUNCH" events --json vltest >"$TMP/json" 2>"$TMP/json.err" &
json_pid=$!
timeout -s KILL 120 "$VMLAUNCH" events vltest >"$TMP/text" 2>"$TMP/text.err" &
text_pid=$!
# Answered while the hook still holds the preparation (the run serves its socket
# during a host step's waits too), then the hook lets the preparation go on.
wait_for_socket_of "$json_pid" 30
wait_for_socket_of "$text_pid" 30
wait_for_text "$TMP/json" '"event":"hello"' 30
wait_for_text "$TMP/text" ' state preparing hooks' 30
touch "$TMP/go"
wait_for_log "is running" 60
# Each line is written out as it comes (a script reads it through a pipe or a file).
wait_for_text "$TMP/json" '"event":"ready"' 60
wait_for_text "$TMP/text" ' ready$' 60
timeout 60 "$VMLAUNCH" stop vltest >/dev/null 2>&1 || fail "stop failed"
wait_vm_exit 60
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8"
wait "$json_pid" || fail "events --json exited $?, expected 0: $(cat "$TMP/json.err")"
wait "$text_pid" || fail "events exited $?, expected 0: $(cat "$TMP/text.err")"

python3 - "$TMP/json" <<'PY' || fail "the events are not a whole run in order:
$(cat "$TMP/json")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
names = [e["event"] for e in lines]
for e in lines:
    assert e["vm"] == "vltest" and isinstance(e["time"], float) and e["state"], e
hello = lines[0]
assert hello["event"] == "hello" and hello["state"] == "preparing", hello
assert hello["step"] == "hooks" and hello["pid"] > 0, hello

def after(name, start):
    """The index of the first NAME at or after start; fails when there is none."""
    assert name in names[start:], f"no {name} after {names[start - 1] if start else 'the start'}: {names}"
    return names.index(name, start)

# The run in order: the hook's step done, QEMU, the guest running, then the stop.
i = after("step-done", 1)
assert lines[i]["step"] == "hooks", lines[i]
i = after("qemu-started", i + 1)
assert lines[i]["state"] == "starting" and lines[i]["qemu_pid"] > 0, lines[i]
i = after("running", i + 1)
assert lines[i]["state"] == "running", lines[i]
i = after("stopping", i + 1)
assert lines[i]["state"] == "stopping" and lines[i]["reason"], lines[i]
i = after("restoring", i + 1)
assert lines[i]["state"] == "restoring", lines[i]
i = after("restored", i + 1)
assert lines[i]["ok"] is True, lines[i]
assert names[-1] == "exited", names
last = lines[-1]
assert last["exit_code"] == 8 and last["state"] == "stopped" and last["reason"], last
# States only move forward.
order = ["preparing", "starting", "running", "stopping", "restoring", "stopped"]
ranks = [order.index(e["state"]) for e in lines]
assert ranks == sorted(ranks), [(e["event"], e["state"]) for e in lines]
PY

clock='[0-2][0-9]:[0-5][0-9]:[0-5][0-9]'
grep -qx "$clock state preparing hooks" "$TMP/text" || fail "no hello in words: $(cat "$TMP/text")"
grep -qx "$clock running" "$TMP/text" || fail "no running in words: $(cat "$TMP/text")"
grep -qx "$clock exited 8 (stopped on request.*)" "$TMP/text" || fail "no exited in words: $(cat "$TMP/text")"
[ "$(wc -l <"$TMP/text")" = "$(wc -l <"$TMP/json")" ] || fail "the text form has another number of lines"
echo "ok"
