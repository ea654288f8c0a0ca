#!/bin/bash
# [net.ID] mode = bridge: vmlaunch (root) opens a tap, puts it on the bridge and up,
# and hands QEMU (unprivileged, sandboxed: it could neither run qemu-bridge-helper
# nor create a tap) the descriptor; the tap is gone with QEMU. Runs in a network
# namespace of its own, so the host's network is never touched.
if [ -z "${VL_IN_NETNS:-}" ]; then
        command -v unshare >/dev/null || { echo "skipped: no unshare"; exit 77; }
        [ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
        exec unshare --net env VL_IN_NETNS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
bridge=vltbr0
ip link add name "$bridge" type bridge || fail "cannot create a bridge in a network namespace"
ip link set "$bridge" mtu 1400 up

install_def vltest "$HERE/pinned.ini" "\$a [net.lan]\nmode = bridge\nbridge = $bridge\nmodel = e1000"
start_vm vltest
wait_for_log "is running"
grep -qE "^\[net.lan\]: tap vmlaunch[0-9]+ on bridge $bridge$" "$LOG" || fail "no log line for the tap"
tap=$(ip -o link show master "$bridge" | awk -F': ' '{print $2}' | cut -d@ -f1)
[ -n "$tap" ] || fail "nothing on bridge $bridge"
case $tap in vmlaunch[0-9]*) ;; *) fail "the port on $bridge is '$tap', not vmlaunch's tap" ;; esac
ip -o link show "$tap" | grep -q "mtu 1400" || fail "tap $tap does not have the bridge's MTU"
ip -o link show "$tap" | grep -q "state UP\|,UP" || fail "tap $tap is not up"
info=$(timeout 10 "$VMLAUNCH" qmp vltest '{"execute":"human-monitor-command","arguments":{"command-line":"info network"}}' 2>&1)
grep -q "net-lan: index=0,type=tap,fd=7" <<<"$info" || fail "QEMU's net-lan is not the tap at fd 7: $info"

timeout 30 "$VMLAUNCH" stop --force vltest || fail "stop --force failed"
wait_vm_exit 10
[ -z "$(ip -o link show master "$bridge")" ] || fail "the tap outlived QEMU: $(ip -o link show master "$bridge")"
echo "ok"
