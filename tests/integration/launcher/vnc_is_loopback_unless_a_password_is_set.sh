#!/bin/bash
# display = vnc=:N listens on 127.0.0.1 only, without a password; vnc=0.0.0.0:N is
# refused without [qemu] vnc_password_file and, with it, QEMU asks VNC clients for the
# password, which vmlaunch sent over QMP: it is never on QEMU's command line. A password
# file others can read, or longer than VNC's 8 characters, is refused before anything runs.
. "$(dirname "$0")/lib.sh"

# query_vnc KEY: one field of QEMU's query-vnc, through `vmlaunch qmp`
query_vnc() {
        local out
        out=$(timeout 10 "$VMLAUNCH" qmp vltest query-vnc) || fail "query-vnc: $out"
        python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$out" "$1"
}

# vnc_login PORT PASSWORD: RFB 3.8 with VNC authentication (DES through openssl, whose
# legacy provider has it); prints "ok" or "refused"
vnc_login() {
        python3 - "$1" "$2" <<'PY'
import socket, struct, subprocess, sys
port, password = int(sys.argv[1]), sys.argv[2].encode()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
def recv(n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise SystemExit("VNC server closed the connection")
        data += chunk
    return data
assert recv(12).startswith(b"RFB 003.")
s.sendall(b"RFB 003.008\n")
types = recv(recv(1)[0])
assert 2 in types, f"no VNC authentication offered: {list(types)}"
s.sendall(bytes([2]))
challenge = recv(16)
# VNC's quirk: each key byte is used bit-reversed
key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.ljust(8, b"\0")[:8])
response = subprocess.run(
    ["openssl", "enc", "-provider", "legacy", "-provider", "default", "-des-ecb",
     "-K", key.hex(), "-nopad"], input=challenge, capture_output=True, check=True).stdout
s.sendall(response)
print("ok" if struct.unpack(">I", recv(4))[0] == 0 else "refused")
PY
}

stop_vm() {
        timeout 30 "$VMLAUNCH" stop --force vltest >/dev/null 2>&1 || fail "stop failed"
        wait_vm_exit 20
}

# 1. loopback by default
install_def vltest "$HERE/pinned.ini" 's/^accel = tcg/accel = tcg\ndisplay = vnc=:77/'
start_vm vltest
wait_for_log "is running" 30
[ "$(query_vnc host)" = 127.0.0.1 ] || fail "VNC listens on $(query_vnc host), not 127.0.0.1"
[ "$(query_vnc service)" = 5977 ] || fail "VNC is on port $(query_vnc service), not 5977"
[ "$(query_vnc auth)" = none ] || fail "VNC on loopback asks for $(query_vnc auth)"
grep -q "VNC listens on 127.0.0.1 port 5977 (display :77), loopback only, no password" "$LOG" ||
        fail "the log does not say where VNC listens"
stop_vm

# 2. every address, refused without a password
install_def vltest "$HERE/pinned.ini" 's/^accel = tcg/accel = tcg\ndisplay = vnc=0.0.0.0:78/'
out=$(timeout 10 "$VMLAUNCH" check vltest 2>&1)
status=$?
[ "$status" = 3 ] || fail "check of VNC on 0.0.0.0 without a password exited $status: $out"
grep -qF "vltest.ini:8: [qemu] display: VNC on 0.0.0.0 listens beyond this host and has no password" <<<"$out" ||
        fail "check said: $out"
out=$(timeout 10 "$VMLAUNCH" run vltest 2>&1)
[ $? = 3 ] || fail "run of VNC on 0.0.0.0 without a password did not exit 3: $out"

# 3. a password file others can read, or too long, is refused before anything runs
pwfile=$VMLAUNCH_CONFIG_DIR/vltest.vncpw
install_def vltest "$HERE/pinned.ini" \
        "s|^accel = tcg|accel = tcg\ndisplay = vnc=0.0.0.0:78\nvnc_password_file = $pwfile|"
printf 'Secr3t!\n' >"$pwfile"
chown root:root "$pwfile"
chmod 0644 "$pwfile"
out=$(timeout 10 "$VMLAUNCH" run vltest 2>&1)
status=$?
[ "$status" = 4 ] || fail "run with a world-readable password file exited $status: $out"
grep -qF "[qemu] vnc_password_file: $pwfile: readable or writable by its group or others (uid 0, mode 0644), but it holds a password; fix with chown root:root $pwfile && chmod 600 $pwfile" <<<"$out" ||
        fail "run said: $out"
! grep -q "started QEMU" <<<"$out" || fail "QEMU was started"
chmod 0600 "$pwfile"
printf '123456789\n' >"$pwfile"
out=$(timeout 10 "$VMLAUNCH" check vltest 2>&1)
status=$?
[ "$status" = 4 ] || fail "check with a 9-character password exited $status: $out"
grep -qF "holds 9 characters, but VNC passwords are at most 8" <<<"$out" || fail "check said: $out"

# 4. with a good password file: QEMU asks for a password, which is not in its argv
printf 'Secr3t!\n' >"$pwfile"
start_vm vltest
wait_for_log "is running" 30
qemu_pid=$(state_get qemu_pid)
[ "$(query_vnc host)" = 0.0.0.0 ] || fail "VNC listens on $(query_vnc host)"
[ "$(query_vnc auth)" = vnc ] || fail "VNC with a password file asks for $(query_vnc auth)"
tr '\0' ' ' <"/proc/$qemu_pid/cmdline" | grep -q -- "-vnc 0.0.0.0:78,password=on" ||
        fail "QEMU's command line has no -vnc ...,password=on"
! grep -q "Secr3t" "/proc/$qemu_pid/cmdline" "$LOG" || fail "the password is in argv or the log"
[ "$(vnc_login 5978 wrong)" = refused ] || fail "VNC accepted a wrong password"
[ "$(vnc_login 5978 'Secr3t!')" = ok ] || fail "VNC refused the password from the file"
grep -q "VNC listens on 0.0.0.0 port 5978 (display :78), with a password" "$LOG" ||
        fail "the log does not say VNC has a password"
stop_vm
echo "ok"
