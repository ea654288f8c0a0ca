#!/bin/bash
# Several listeners at once, and one that stops reading: two `vmlaunch events --json`
# get the same whole sequence; a third client asks for the events and then reads
# nothing while thousands of guest events (system_powerdown, which this guest ignores)
# are sent through the control socket. The run is never held up by it: every command
# is answered, the stop ends the run promptly (exit 8). When the stuck client finally
# reads, its stream ends with the "lagged" line (it was dropped), while the two others
# got every event and "exited".
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"
# Beyond what one listener may have queued (256 KiB) plus the socket's own buffer.
POWERDOWNS=6000

install_def vltest "$HERE/pinned.ini" "s/^shutdown_timeout = .*/shutdown_timeout = 1/"
start_vm vltest
wait_for_log "is running" 60
for i in 1 2; do
        timeout -s KILL 300 "$VMLAUNCH" events --json vltest >"$TMP/l$i" 2>"$TMP/l$i.err" &
        eval "listener$i=\$!"
done
wait_for_lines "$TMP/l1" 1 30
wait_for_lines "$TMP/l2" 1 30

# The stuck client: asks, reads nothing until $TMP/read exists, then reads to EOF.
python3 - "$(RUN_DIR_OF vltest)/events.sock" "$TMP" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"request":"events"}\n')
open(os.path.join(sys.argv[2], "asked"), "w").close()
while not os.path.exists(os.path.join(sys.argv[2], "read")):
    time.sleep(0.05)
data = b""
while chunk := s.recv(65536):
    data += chunk
open(os.path.join(sys.argv[2], "stuck"), "wb").write(data)
PY
stuck=$!
deadline=$((SECONDS + 30))
until [ -e "$TMP/asked" ]; do
        [ $SECONDS -lt $deadline ] || fail "the stuck client did not connect"
        sleep 0.05
done

# The flood, pipelined in batches through ctl.qmp; every command must be answered.
# The two readers are let keep up (at most 1000 events behind) however busy the machine.
python3 - "$(RUN_DIR_OF vltest)/ctl.qmp" "$POWERDOWNS" "$TMP/l1" "$TMP/l2" <<'PY' || fail "the control socket stopped answering during the flood"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(120)
s.connect(sys.argv[1])
f = s.makefile("rwb")
json.loads(f.readline())  # greeting
def command(n, name):
    f.write((json.dumps({"execute": name}) + "\n").encode() * n)
    f.flush()
    answered = 0
    while answered < n:
        reply = json.loads(f.readline())
        if "error" in reply:
            sys.exit(f"{name}: {reply}")
        answered += "return" in reply
command(1, "qmp_capabilities")
def lines(path):
    with open(path, "rb") as f:
        return f.read().count(b"\n")
left, sent = int(sys.argv[2]), 0
while left:
    n = min(left, 200)
    command(n, "system_powerdown")
    left -= n
    sent += n
    deadline = time.monotonic() + 120
    while min(lines(sys.argv[3]), lines(sys.argv[4])) < sent - 1000:
        if time.monotonic() > deadline:
            sys.exit(f"the readers are more than 1000 events behind after {sent}")
        time.sleep(0.05)
PY
touch "$TMP/read"
wait "$stuck" || fail "the stuck client failed"
timeout 60 "$VMLAUNCH" stop vltest >/dev/null 2>&1 || fail "stop failed while a client was stuck"
wait_vm_exit 60
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8"
wait "$listener1" || fail "listener 1 exited $?, expected 0: $(cat "$TMP/l1.err")"
wait "$listener2" || fail "listener 2 exited $?, expected 0: $(cat "$TMP/l2.err")"

python3 - "$TMP/l1" "$TMP/l2" "$TMP/stuck" "$POWERDOWNS" <<'PY' || fail "the listeners' streams are wrong"
import json, sys
def events(path):
    return [json.loads(l) for l in open(path, "rb").read().splitlines()]
one, two, stuck = events(sys.argv[1]), events(sys.argv[2]), events(sys.argv[3])
names = lambda es: [e["event"] for e in es]
# The two readers: the same sequence after their hellos, every powerdown, then exited.
assert names(one)[1:] == names(two)[1:], (names(one)[:20], names(two)[:20])
assert names(one).count("powerdown") >= int(sys.argv[4]), names(one).count("powerdown")
assert "lagged" not in names(one), "a reading listener was dropped"
assert names(one)[-1] == "exited" and one[-1]["exit_code"] == 8, one[-1]
# The stuck one: dropped, and told so in its last line.
assert stuck[0]["event"] == "hello", stuck[0]
assert stuck[-1]["event"] == "lagged" and stuck[-1]["dropped"] >= 1, stuck[-1]
assert "exited" not in names(stuck), "a dropped listener was still sent events"
print(f"stuck client: {len(stuck)} lines, then lagged; readers: {len(one)} lines")
PY
echo "ok"
