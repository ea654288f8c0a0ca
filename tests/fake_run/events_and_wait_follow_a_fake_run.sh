#!/bin/bash
# `events` and `wait` against a stand-in for a running vmlaunch (fake_events_run.py:
# the run dir's lock, state file and events socket, no QEMU, no root): the socket
# that appears only after the client came (the lock is held meanwhile), the lines
# as they are sent (--json) and in words, how the stream may end (exited: 0; lagged
# or cut off: 1; the lock gone without a socket: 15), and each wait condition as the
# events make it hold, time out (14) or end (15).
set -u
: "${VMLAUNCH:?set by meson}" "${SOURCE_ROOT:?set by meson}"
command -v python3 >/dev/null || { echo "skipped: python3 is not installed"; exit 77; }
FAKE=$SOURCE_ROOT/tests/fake_run/fake_events_run.py
TMP=$(mktemp -d /tmp/vmlaunch-fake.XXXXXX)
export VMLAUNCH_RUNTIME_DIR=$TMP/run VMLAUNCH_CONFIG_DIR=$TMP/etc TZ=UTC
mkdir -p "$VMLAUNCH_RUNTIME_DIR" "$VMLAUNCH_CONFIG_DIR"
RUN=$VMLAUNCH_RUNTIME_DIR/vm
FAKE_PID= SLEEPER= listener=
cleanup() {
        [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null
        [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null
        # a listener left behind would hold meson's output pipe open until its timeout
        [ -n "$listener" ] && kill "$listener" 2>/dev/null
        rm -rf "$TMP"
}
trap cleanup EXIT
failures=0
fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

# fake ARGS...: the fake run in the background, once it holds the lock.
fake() {
        rm -f "$TMP"/go "$TMP"/hold "$TMP"/fake.out
        python3 "$FAKE" "$RUN" vm "$@" >"$TMP/fake.out" 2>"$TMP/fake.err" &
        FAKE_PID=$!
        local deadline=$((SECONDS + 30))
        until grep -q locked "$TMP/fake.out" 2>/dev/null; do
                kill -0 "$FAKE_PID" 2>/dev/null || { cat "$TMP/fake.err"; return 1; }
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.02
        done
}

fake_done() {
        wait "$FAKE_PID" || fail "the fake run failed: $(cat "$TMP/fake.err")"
        FAKE_PID=
}

# waiting_on_inotify PID: until vmlaunch (PID's child: PID is `timeout`) holds an
# inotify descriptor, i.e. it waits for the socket.
waiting_on_inotify() {
        local deadline=$((SECONDS + 30)) child
        until child=$(pgrep -P "$1") && ls -l "/proc/$child/fd" 2>/dev/null | grep -q inotify; do
                kill -0 "$1" 2>/dev/null || return 1
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.02
        done
}

# run_bg OUT ERR ARGS...: vmlaunch in the background; CLIENT its pid.
run_bg() {
        local out=$1 err=$2
        shift 2
        timeout -s KILL 60 "$VMLAUNCH" "$@" >"$out" 2>"$err" &
        CLIENT=$!
}

# --- a VM that never ran, and one whose journal waits for restore: 15, saying so
"$VMLAUNCH" events vm >"$TMP/out" 2>"$TMP/err"
status=$?
[ "$status" = 15 ] || fail "events for a VM that is not running exited $status, expected 15"
[ "$(cat "$TMP/err")" = "vmlaunch events: vm is not running (state: stopped)" ] ||
        fail "not running: stderr $(cat "$TMP/err")"
[ ! -s "$TMP/out" ] || fail "not running: stdout $(cat "$TMP/out")"
mkdir -p "$RUN" && echo "vmlaunch-journal 1 vm=vm" >"$RUN/journal"
"$VMLAUNCH" events --json vm >"$TMP/out" 2>"$TMP/err"
status=$?
[ "$status" = 15 ] || fail "events for a VM that needs restore exited $status, expected 15"
[ "$(cat "$TMP/err")" = "vmlaunch events: vm is not running (state: needs-restore)" ] ||
        fail "needs-restore: stderr $(cat "$TMP/err")"
"$VMLAUNCH" wait vm --for stopped >"$TMP/out" 2>"$TMP/err" || fail "wait --for stopped with a journal exited $?"
grep -q "run \`vmlaunch restore vm\`" "$TMP/out" || fail "wait --for stopped does not name restore: $(cat "$TMP/out")"
rm -rf "$RUN"

# --- events --json: the socket appears only after the client came
fake --delay-socket "$TMP/go" --pid $$ preparing:preparing step-done running:running exited:stopped || fail "the fake run did not start"
run_bg "$TMP/out" "$TMP/err" events --json vm
waiting_on_inotify "$CLIENT" || fail "events did not wait for the socket (inotify)"
touch "$TMP/go"
wait "$CLIENT"
status=$?
fake_done
[ "$status" = 0 ] || fail "events --json exited $status after \"exited\", expected 0: $(cat "$TMP/err")"
python3 - "$TMP/out" <<'PY' || fail "events --json printed $(cat "$TMP/out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
events = [json.loads(l)["event"] for l in lines]
assert events == ["hello", "preparing", "step-done", "running", "exited"], events
PY

# --- events in words
fake --pid $$ --state running \
        '{"event":"preparing","state":"preparing","step":"vfio","change":"bind 0000:06:00.0"}' \
        '{"event":"qemu-started","state":"starting","qemu_pid":4242}' \
        '{"event":"shutdown","state":"stopping","guest":true,"reason":"guest-shutdown"}' \
        '{"event":"restored","state":"restoring","ok":true}' \
        '{"event":"exited","state":"stopped","exit_code":8,"reason":"stopped on request"}'
"$VMLAUNCH" events vm >"$TMP/out" 2>"$TMP/err"
status=$?
fake_done
want="15:04:05 state running
15:04:05 preparing vfio: bind 0000:06:00.0
15:04:05 qemu-started pid 4242
15:04:05 shutdown by the guest (guest-shutdown)
15:04:05 restored ok
15:04:05 exited 8 (stopped on request)"
[ "$status" = 0 ] || fail "events exited $status, expected 0: $(cat "$TMP/err")"
[ "$(cat "$TMP/out")" = "$want" ] || fail "events printed:
$(cat "$TMP/out")
expected:
$want"

# --- dropped as too slow: 1
fake --pid $$ running:running '{"event":"lagged","dropped":3,"why":"too slow"}' || fail "the fake run did not start"
"$VMLAUNCH" events --json vm >"$TMP/out" 2>"$TMP/err"
status=$?
fake_done
[ "$status" = 1 ] || fail "events exited $status after \"lagged\", expected 1"
grep -q "read too slowly (3 event(s) missed)" "$TMP/err" || fail "lagged: stderr $(cat "$TMP/err")"
[ "$(tail -1 "$TMP/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["event"])')" = lagged ] ||
        fail "the lagged line was not printed: $(cat "$TMP/out")"

# --- the stream is cut off without "exited" (its vmlaunch died): 1
fake --pid $$ running:running || fail "the fake run did not start"
"$VMLAUNCH" events vm >"$TMP/out" 2>"$TMP/err"
status=$?
fake_done
[ "$status" = 1 ] || fail "events exited $status when the stream was cut off, expected 1"
grep -q 'the stream ended without "exited"' "$TMP/err" || fail "cut off: stderr $(cat "$TMP/err")"

# --- the lock goes while the client waits for a socket that never comes: 15
fake --no-socket --delay-socket "$TMP/go" --pid $$ || fail "the fake run did not start"
run_bg "$TMP/out" "$TMP/err" events vm
waiting_on_inotify "$CLIENT" || fail "events did not wait for the socket"
touch "$TMP/go"
wait "$CLIENT"
status=$?
fake_done
[ "$status" = 15 ] || fail "events exited $status when the run ended without a socket, expected 15"
[ "$(cat "$TMP/err")" = "vmlaunch events: vm is not running (state: stopped)" ] ||
        fail "run gone: stderr $(cat "$TMP/err")"

# --- wait --for running holds on the running event, while the stream goes on
fake --pid $$ --hold "$TMP/hold" preparing:preparing qemu-started:starting running:running || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for running --json >"$TMP/out" 2>"$TMP/err"
status=$?
touch "$TMP/hold"
fake_done
[ "$status" = 0 ] || fail "wait --for running exited $status, expected 0: $(cat "$TMP/err")"
python3 - "$TMP/out" <<'PY' || fail "wait --for running --json printed $(cat "$TMP/out")"
import json, sys
o = json.load(open(sys.argv[1]))
assert (o["vm"], o["condition"], o["result"], o["state"]) == ("vm", "running", "held", "running"), o
assert o["exit_code"] is None and o["reason"] is None and o["waited_s"] >= 0, o
PY

# --- wait --for agent: up in the hello already
fake --pid $$ --state running --hello '{"agent":"up"}' --hold "$TMP/hold" || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for agent >"$TMP/out" 2>"$TMP/err"
status=$?
touch "$TMP/hold"
fake_done
[ "$status" = 0 ] || fail "wait --for agent (up in the hello) exited $status, expected 0"
[ "$(cat "$TMP/out")" = "vm: agent holds (state running)" ] || fail "wait --for agent printed $(cat "$TMP/out")"

# --- wait --for ready that never comes: --timeout 1 gives 14
fake --pid $$ --hold "$TMP/hold" running:running || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for ready --timeout 1 --json >"$TMP/out" 2>"$TMP/err"
status=$?
touch "$TMP/hold"
fake_done
[ "$status" = 14 ] || fail "wait --for ready --timeout 1 exited $status, expected 14"
grep -q '"result": "timeout", "state": "running"' "$TMP/out" || fail "timeout: printed $(cat "$TMP/out")"

# --- --timeout 0: whether it holds now, from the first line
fake --pid $$ --state running --hold "$TMP/hold" || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for running --timeout 0 >"$TMP/out" 2>"$TMP/err"
status=$?
touch "$TMP/hold"
fake_done
fake --pid $$ --state running --hold "$TMP/hold" || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for ready --timeout 0 --json >"$TMP/out.ready" 2>&1
status_ready=$?
touch "$TMP/hold"
fake_done
grep -q '"result": "timeout", "state": "running"' "$TMP/out.ready" || fail "--timeout 0 did not read the state: $(cat "$TMP/out.ready")"
[ "$status" = 0 ] || fail "wait --for running --timeout 0 on a running VM exited $status, expected 0: $(cat "$TMP/err")"
[ "$status_ready" = 14 ] || fail "wait --for ready --timeout 0 (not ready) exited $status_ready, expected 14"

# --- a run that does not answer (busy in a long host step): 14, the state from its file
fake --pid $$ --silent --hold "$TMP/hold" || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for running --timeout 1 --json >"$TMP/out" 2>"$TMP/err"
status=$?
touch "$TMP/hold"
fake_done
[ "$status" = 14 ] || fail "wait on a silent run exited $status, expected 14: $(cat "$TMP/err")"
grep -q '"result": "timeout", "state": "preparing"' "$TMP/out" || fail "silent run: printed $(cat "$TMP/out")"

# --- wait --for agent, and the run ends first: 15 with its exit code
fake --pid $$ running:running \
        '{"event":"exited","state":"stopped","exit_code":7,"reason":"QEMU crashed or was killed"}'
"$VMLAUNCH" wait vm --for agent >"$TMP/out" 2>"$TMP/err"
status=$?
fake_done
[ "$status" = 15 ] || fail "wait --for agent when the run ended exited $status, expected 15"
[ "$(cat "$TMP/err")" = "vmlaunch wait: vm: its run ended before agent held: exit 7 (QEMU crashed or was killed)" ] ||
        fail "ended: stderr $(cat "$TMP/err")"

# --- wait --for stopped holds only once the run's vmlaunch (the hello's pid) is gone
sleep 1000 &
SLEEPER=$!
fake --pid "$SLEEPER" running:running stopping:stopping exited:stopped || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for stopped --timeout 2 >"$TMP/out" 2>"$TMP/err"
status=$?
fake_done
[ "$status" = 14 ] || fail "wait --for stopped returned $status while the run's vmlaunch lives, expected 14"
fake --pid "$SLEEPER" running:running exited:stopped || fail "the fake run did not start"
run_bg "$TMP/out" "$TMP/err" wait vm --for stopped --json
fake_done
kill "$SLEEPER"
SLEEPER=
wait "$CLIENT"
status=$?
[ "$status" = 0 ] || fail "wait --for stopped exited $status, expected 0: $(cat "$TMP/err")"
grep -q '"result": "held", "state": "stopped"' "$TMP/out" || fail "stopped: printed $(cat "$TMP/out")"

# --- wait --for tcp: probed only while the guest runs
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$port" "$TMP/hold" <<'PY' &
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
PY
listener=$!
fake --pid $$ --state preparing --hold "$TMP/hold" || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for "tcp:127.0.0.1:$port" --timeout 1 >"$TMP/out" 2>"$TMP/err"
status=$?
[ "$status" = 14 ] || fail "wait --for tcp while preparing exited $status, expected 14 (no probe before running)"
touch "$TMP/hold"
fake_done
# the listener too saw the file before it goes: the port is free for the next one
wait "$listener"
rm -f "$TMP/hold"
python3 - "$port" "$TMP/hold" <<'PY' &
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
PY
listener=$!
fake --pid $$ --state running --hold "$TMP/hold" || fail "the fake run did not start"
"$VMLAUNCH" wait vm --for "tcp:127.0.0.1:$port" --timeout 30 >"$TMP/out" 2>"$TMP/err"
status=$?
touch "$TMP/hold"
fake_done
wait "$listener"
listener=
[ "$status" = 0 ] || fail "wait --for tcp with a listener while running exited $status, expected 0: $(cat "$TMP/err")"

[ "$failures" = 0 ] || { echo "$failures case(s) failed"; exit 1; }
echo "ok"
