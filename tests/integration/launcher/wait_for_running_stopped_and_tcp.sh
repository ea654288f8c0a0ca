#!/bin/bash
# `vmlaunch wait` against a real run: running holds once the guest runs; stopped
# holds when another process stops the VM, only once its vmlaunch is gone (a `run`
# right after is not busy); tcp:127.0.0.1:PORT holds when a listener opens on the host
# while the guest runs, and ends with 15 (and the run's exit code) when the VM ends
# first; a condition that never holds gives 14 after --timeout; a VM that is not
# running gives 15 for running and 0 for stopped.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is not installed"

install_def vltest "$HERE/pinned.ini" "s/^shutdown_timeout = .*/shutdown_timeout = 1/"
free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

timeout 60 "$VMLAUNCH" wait vltest --for running >/dev/null 2>"$TMP/err"
status=$?
[ "$status" = 15 ] || fail "wait --for running on a stopped VM exited $status, expected 15"
[ "$(cat "$TMP/err")" = "vmlaunch wait: vltest is not running (state: stopped)" ] || fail "stopped VM: $(cat "$TMP/err")"
timeout 60 "$VMLAUNCH" wait vltest --for stopped >/dev/null || fail "wait --for stopped on a stopped VM exited $?"

start_vm vltest
wait_for_run 60
out=$(timeout 120 "$VMLAUNCH" wait vltest --for running --json) || fail "wait --for running exited $?: $out"
[ "$(state_get state)" = running ] || fail "wait --for running returned in state $(state_get state)"
grep -q '"result": "held", "state": "running"' <<<"$out" || fail "wait --for running printed $out"

timeout 60 "$VMLAUNCH" wait vltest --for agent --timeout 1 >/dev/null 2>"$TMP/err"
status=$?
[ "$status" = 14 ] || fail "wait --for agent --timeout 1 (no agent) exited $status, expected 14"
grep -q "agent did not hold within 1 s (state running)" "$TMP/err" || fail "timeout: $(cat "$TMP/err")"

# tcp: nothing listens yet; a listener opens once the wait is under way.
port=$(free_port)
timeout 60 "$VMLAUNCH" wait vltest --for "tcp:127.0.0.1:$port" --timeout 1 >/dev/null 2>&1
status=$?
[ "$status" = 14 ] || fail "wait --for tcp with nothing listening exited $status, expected 14"
timeout -s KILL 120 "$VMLAUNCH" wait vltest --for "tcp:127.0.0.1:$port" --json >"$TMP/tcp" 2>&1 &
waiter=$!
python3 - "$port" "$TMP/tcp-done" <<'PY' &
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
s.accept()  # the probe
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
PY
listener=$!
wait "$waiter" || fail "wait --for tcp with a listener exited $?: $(cat "$TMP/tcp")"
touch "$TMP/tcp-done"
wait "$listener" || fail "the listener saw no probe"
grep -q '"result": "held", "state": "running"' "$TMP/tcp" || fail "wait --for tcp printed $(cat "$TMP/tcp")"

# stopped, by another process; and tcp on a port nobody opens, ended by the stop.
port=$(free_port)
timeout -s KILL 120 "$VMLAUNCH" wait vltest --for stopped --json >"$TMP/stopped" 2>&1 &
stopped_waiter=$!
timeout -s KILL 120 "$VMLAUNCH" wait vltest --for "tcp:127.0.0.1:$port" --json >"$TMP/ended" 2>"$TMP/ended.err" &
tcp_waiter=$!
wait_for_socket_of "$stopped_waiter" 30
wait_for_socket_of "$tcp_waiter" 30
timeout 60 "$VMLAUNCH" stop vltest >/dev/null 2>&1 || fail "stop failed"
wait "$stopped_waiter" || fail "wait --for stopped exited $?: $(cat "$TMP/stopped")"
# Its vmlaunch is gone: the VM can run again at once.
timeout 60 "$VMLAUNCH" status vltest >/dev/null
[ $? = 1 ] || fail "wait --for stopped returned while vmlaunch still ran"
grep -q '"result": "held", "state": "stopped", "exit_code": 8' "$TMP/stopped" || fail "wait --for stopped printed $(cat "$TMP/stopped")"
wait "$tcp_waiter"
status=$?
[ "$status" = 15 ] || fail "wait --for tcp when the VM ended exited $status, expected 15: $(cat "$TMP/ended.err")"
grep -q '"result": "ended", "state": "stopped", "exit_code": 8, "reason": "stopped on request"' "$TMP/ended" ||
        fail "wait --for tcp, ended: printed $(cat "$TMP/ended")"
wait_vm_exit 60
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS, expected 8"
echo "ok"
