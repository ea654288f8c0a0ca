#!/bin/bash
# [session] ready = tcp:HOST:PORT with nothing listening and ready_timeout = 3: the
# run is not ready (no "ready" in status), then stopped like `vmlaunch stop` would
# and ends with exit 13 after restoring. And the same VM, when the port starts
# accepting connections after the guest runs, becomes ready (the TCP probe backs off
# and tries again).
. "$(dirname "$0")/lib.sh"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
install_def vltest "$HERE/pinned.ini"
printf '\n[session]\nready = tcp:127.0.0.1:%s\nready_timeout = 3\n' "$port" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"

start_vm vltest
wait_for_log "is running"
[ "$("$VMLAUNCH" status --json vltest | jq -r .ready)" = false ] || fail "ready before the port answered"
wait_vm_exit 30
[ "$VM_STATUS" = 13 ] || fail "vmlaunch exited $VM_STATUS, expected 13 (not ready in time)"
grep -q "was not ready 3 s after the guest started; stopping it" "$LOG" || fail "no message says why"

sed -i 's/^ready_timeout = 3$/ready_timeout = 60/' "$VMLAUNCH_CONFIG_DIR/vltest.ini"
start_vm vltest
wait_for_log "waiting for 127.0.0.1:$port to accept connections"
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(30)' "$port" &
listener=$!
wait_for_log "session vltest is ready (127.0.0.1:$port)" 30
[ "$("$VMLAUNCH" status --json vltest | jq -r .ready)" = true ] || fail "status does not say ready"
kill "$listener"
out=$("$VMLAUNCH" stop vltest 2>&1) || fail "stop failed: $out"
wait_vm_exit 30
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS after stop, expected 8"
echo "ok: not ready in time is exit 13; a port that opens later makes the run ready"
