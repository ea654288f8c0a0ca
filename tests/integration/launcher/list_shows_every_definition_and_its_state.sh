#!/bin/bash
# `vmlaunch list` shows every NAME.ini of the config dir (not other files, not
# folders) with its state, and a VM that still runs after its definition was removed;
# --json has the objects of `status --json`, the running one with its pids and uptime.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

install_def vltest "$HERE/pinned.ini" "s/^shutdown_timeout = .*/shutdown_timeout = 1/"
install_def other "$HERE/pinned.ini"
echo "not a definition" >"$VMLAUNCH_CONFIG_DIR/README"
mkdir "$VMLAUNCH_CONFIG_DIR/folder.ini"

start_vm vltest
wait_for_state running 60
json=$(timeout 60 "$VMLAUNCH" list --json) || fail "list --json exited $?"
python3 - "$json" "$VMLAUNCH_CONFIG_DIR" <<'PY' || fail "list --json: $json"
import json, sys
vms = json.loads(sys.argv[1])
assert [v["name"] for v in vms] == ["other", "vltest"], vms
other, vltest = vms
assert other["state"] == "stopped" and other["running"] is False and other["pid"] is None, other
assert other["definition"] == sys.argv[2] + "/other.ini", other
assert vltest["state"] == "running" and vltest["running"] is True, vltest
assert vltest["pid"] > 0 and vltest["qemu_pid"] > 0 and vltest["started"] > 0, vltest
assert vltest["uptime_s"] >= 0 and vltest["guest"] == "running", vltest
PY
text=$(timeout 60 "$VMLAUNCH" list) || fail "list exited $?"
pid=$(state_get pid)
grep -qE "^NAME +STATE +PID +UPTIME$" <<<"$text" || fail "list has no header: $text"
grep -qE "^other +stopped +- +-$" <<<"$text" || fail "list: no stopped 'other': $text"
grep -qE "^vltest +running +$pid +[0-9]+:[0-9]{2}:[0-9]{2}$" <<<"$text" || fail "list: no running 'vltest': $text"
[ "$(wc -l <<<"$text")" = 3 ] || fail "list shows other files: $text"

# The definition goes while the VM runs: it is still listed.
rm "$VMLAUNCH_CONFIG_DIR/vltest.ini"
json=$(timeout 60 "$VMLAUNCH" list --json) || fail "list --json exited $?"
python3 -c 'import json, sys; vms = {v["name"]: v for v in json.loads(sys.argv[1])}; assert vms["vltest"]["state"] == "running" and vms["vltest"]["definition"] is None, vms' "$json" ||
        fail "a running VM without its definition is not listed: $json"
timeout 60 "$VMLAUNCH" stop vltest >/dev/null 2>&1 || fail "stop failed"
wait_vm_exit 60
text=$(timeout 60 "$VMLAUNCH" list) || fail "list exited $?"
[ "$(printf '%s\n' "$text" | tail -n +2 | awk '{print $1}')" = other ] ||
        fail "a stopped VM without definition is still listed: $text"
echo "ok"
