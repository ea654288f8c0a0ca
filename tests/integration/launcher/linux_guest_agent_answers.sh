#!/bin/bash
# The tests' Linux guest (build-initramfs) runs Debian's real qemu-guest-agent, proven
# with a plain QEMU (no vmlaunch feature involved) under TCG: on its virtio-serial port
# org.qemu.guest_agent.0 the agent answers guest-sync-delimited with our random id,
# guest-ping and guest-info, reports the guest's own kernel (guest-get-osinfo: the
# Debian kernel, not the build machine's), and guest-shutdown powers the guest off
# (QEMU exits 0, the guest's /sbin/shutdown said so). Without vlguest.acpi=on the guest
# ignores the ACPI power button, like a locked Windows screen. With vlguest.listen its
# TCP listener answers through QEMU's user network.
. "$(dirname "$0")/lib.sh"
: "${BUILD_ROOT:?set by meson}"

linux_guest # sets kernel and initrd
version=${kernel##*/vmlinuz-}
agent=$TMP/agent.sock
guest_port_forward 8080 # sets host_port and forward_args

# What wait_for_log reads and fail prints: the guest's serial console and QEMU's own
# messages, both appended to one file. $forward_args is split into words on purpose.
LOG=$TMP/console.log
: >"$LOG"
start=$SECONDS
"$QEMU_BIN" -accel tcg,thread=multi -machine q35 -cpu max -m 256 \
        -display none -monitor none -no-reboot \
        -chardev "file,id=console,path=$LOG,append=on" -serial chardev:console \
        -qmp "unix:$TMP/qmp.sock,server=on,wait=off" \
        -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 quiet panic=-1 vlguest.listen=8080" \
        $forward_args \
        -device virtio-serial -device "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0" \
        -chardev "socket,id=qga0,path=$agent,server=on,wait=off" >>"$LOG" 2>&1 &
VM_PID=$! # QEMU itself: wait_for_log fails at once when it ends, cleanup kills it
wait_for_log "guest ready" 300
booted=$((SECONDS - start))
grep -q "guest: agent started" "$LOG" || fail "the guest did not start its agent"

ga() { python3 "$HERE/guest_agent.py" "$agent" --timeout 60 "$@"; }
out=$(ga sync '{"execute":"guest-ping"}' '{"execute":"guest-info"}' \
        '{"execute":"guest-get-osinfo"}' 2>&1) || fail "the agent did not answer: $out"
python3 - "$out" "$version" <<'PY' || fail "unexpected replies from the agent: $out"
import json, sys
synced, ping, info, osinfo = (json.loads(l) for l in sys.argv[1].splitlines())
assert synced["synced"] > 0, synced
assert ping == {"return": {}}, ping
commands = {c["name"]: c["enabled"] for c in info["return"]["supported_commands"]}
assert info["return"]["version"].split(".")[0].isdigit(), info["return"]["version"]
assert commands.get("guest-shutdown") is True, "guest-shutdown is not enabled"
assert osinfo["return"]["kernel-release"] == sys.argv[2], osinfo
PY

# Through QEMU's user network (hostfwd): the guest's httpd serves "vlguest".
grep -q "guest: listening on tcp port 8080" "$LOG" || fail "the guest does not listen on 8080"
page=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode().strip())' \
        "http://127.0.0.1:$host_port/" 2>&1) || fail "nothing answers behind 127.0.0.1:$host_port: $page"
[ "$page" = vlguest ] || fail "the guest's listener answered: $page"

# The ACPI power button (what `vmlaunch stop` presses first) is ignored...
python3 - "$TMP/qmp.sock" <<'PY' || fail "system_powerdown over QMP failed"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
f = s.makefile("rw")
json.loads(f.readline())  # the greeting
for command in ("qmp_capabilities", "system_powerdown"):
    f.write(json.dumps({"execute": command}) + "\n")
    f.flush()
    while "return" not in (reply := json.loads(f.readline())):
        assert "error" not in reply, reply
PY
wait_for_log "guest: power button pressed, ignored" 120
# ...while the agent still answers and can power the guest off.
stop=$SECONDS
out=$(ga sync 'send:{"execute":"guest-shutdown"}' 2>&1) || fail "cannot send guest-shutdown: $out"
wait_vm_exit 120
[ "$VM_STATUS" = 0 ] || fail "QEMU exited $VM_STATUS after guest-shutdown"
grep -q "guest: shutdown by the agent" "$LOG" || fail "the agent did not run the guest's shutdown"
echo "ok: the guest's agent answered $booted s after QEMU started; powered off in $((SECONDS - stop)) s"
