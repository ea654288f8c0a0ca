#!/bin/bash
# `start` and `wake` given what they cannot act on: a clear message, a documented exit
# code, and no unit started.
#  - start of a VM with no definition: exit 3, the loader's message, systemd not asked;
#  - start where systemd is not the init system (no /run/systemd/system: through
#    VMLAUNCH_SYSROOT in a test-seams build, or this machine's own state): exit 4, the
#    message points at `vmlaunch run NAME`, --json says result "no-systemd";
#  - wake handed a socket (as vmlaunch-wake.socket does, fd 3) with malformed packets
#    (short, wrong sync, MAC repeated wrongly, and the same junk again) and a good packet
#    for a MAC no definition has: each ignored, logged once, exit 0, nothing started;
#    a good packet for a VM without wake_on_lan is ignored with that reason.
set -u
: "${VMLAUNCH:?set by meson}"
tmp=$(mktemp -d /tmp/vmlaunch-start-wake.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMLAUNCH_RUNTIME_DIR=$tmp/run VMLAUNCH_CONFIG_DIR=$tmp/etc
mkdir -p "$VMLAUNCH_RUNTIME_DIR" "$VMLAUNCH_CONFIG_DIR" "$tmp/root"
chmod 0755 "$VMLAUNCH_CONFIG_DIR"

failures=0
check() { # description actual expected
  if [ "$2" = "$3" ]; then echo "ok - $1"; else
    echo "FAIL - $1: expected '$3', got '$2'"
    failures=$((failures + 1))
  fi
}

# A valid definition (root's, 0644, as the loader demands of root; tests run as root
# or pass --allow-unsafe-owner, which start does not take: skip what needs it).
cat >"$VMLAUNCH_CONFIG_DIR/vm.ini" <<'INI'
[vm]
name = vm
[memory]
size = 128M
[net.lan]
mode = user
mac = 52:54:00:aa:bb:cc
INI
chmod 0644 "$VMLAUNCH_CONFIG_DIR/vm.ini"

err=$("$VMLAUNCH" start nosuchvm 2>&1 >/dev/null)
check "start of an unknown VM exits 3" "$?" 3
check "start of an unknown VM names the missing file" \
  "$(grep -c "nosuchvm.ini: no such file" <<<"$err")" 1

if [ "$TEST_SEAMS" = true ]; then
  export VMLAUNCH_SYSROOT=$tmp/root # a root without /run/systemd/system
elif [ -d /run/systemd/system ]; then
  echo "skipped: systemd runs this machine and this vmlaunch has no test seams to hide it"
  exit 77
fi
if [ "$(id -u)" = 0 ]; then
  out=$("$VMLAUNCH" start --json vm 2>"$tmp/err")
  check "start without systemd exits 4" "$?" 4
  check "start without systemd points at vmlaunch run" "$(cat "$tmp/err")" \
    "vmlaunch start: systemd is not the init system here (no /run/systemd/system), so there is no vmlaunch@vm.service to start; run the VM in the foreground with \`vmlaunch run vm\`"
  check "start --json without systemd" "$out" \
    '{"vm":"vm","unit":"vmlaunch@vm.service","result":"no-systemd","exit_code":4}'
else
  echo "ok - # not root: the no-systemd case needs a root-owned definition (skipped part)"
fi
unset VMLAUNCH_SYSROOT

# wake: datagrams queued on a socketpair passed as fd 3 with LISTEN_FDS/LISTEN_PID,
# exactly as systemd passes vmlaunch-wake.socket; --exit-idle-time 0: exit once read.
wake_with() { # hex payloads...
  python3 - "$VMLAUNCH" "$@" <<'PY'
import os, socket, sys
vmlaunch, payloads = sys.argv[1], sys.argv[2:]
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
for p in payloads:
    ours.send(bytes.fromhex(p))
pid = os.fork()
if pid == 0:
    os.dup2(theirs.fileno(), 3)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = "1"
    os.execv(vmlaunch, [vmlaunch, "wake", "--exit-idle-time", "0"])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
sync=ffffffffffff
mac_unknown=525400123456
mac_vm=525400aabbcc
good_unknown=$sync$(printf "$mac_unknown%.0s" {1..16})
good_vm=$sync$(printf "$mac_vm%.0s" {1..16})
short=${good_unknown:0:200}
bad_sync=fe${good_unknown:2}
bad_repeat=${good_unknown:0:202}00
log=$(wake_with "$short" "$bad_sync" "$bad_repeat" "$short" "$bad_sync" "$good_unknown" "$good_unknown" 2>&1)
check "wake with malformed packets exits 0 (ignored, not fatal)" "$?" 0
echo "$log" | sed 's/^/  | /'
check "a short packet is logged once" \
  "$(grep -c 'no magic packet (100 bytes): a magic packet is 102 bytes (106 or 108 with a SecureOn password)' <<<"$log")" 1
check "a packet with a wrong sync stream is logged once" \
  "$(grep -c 'no magic packet (102 bytes): it does not start with six 0xFF bytes' <<<"$log")" 1
check "a packet whose MAC is repeated wrongly is logged once" \
  "$(grep -c 'no magic packet (102 bytes): the MAC is not repeated 16 times' <<<"$log")" 1
check "a packet for an unknown MAC is logged once" \
  "$(grep -c "magic packet for 52:54:00:12:34:56 ignored: no definition in $VMLAUNCH_CONFIG_DIR with wake_on_lan = yes has this MAC" <<<"$log")" 1
check "nothing was started" "$(grep -c 'starting vmlaunch@' <<<"$log")" 0
check "nothing else was logged" "$(wc -l <<<"$log")" 4

if [ "$(id -u)" = 0 ]; then
  log=$(wake_with "$good_vm" 2>&1)
  check "wake for a VM without wake_on_lan exits 0" "$?" 0
  check "it says why it is ignored" "$log" \
    "magic packet for 52:54:00:aa:bb:cc ignored: it is the MAC of vm, which does not have [session] wake_on_lan = yes"
fi

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all bad input handled as expected"
