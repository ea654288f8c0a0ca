#!/bin/sh
# A headless streaming session with vmlaunch verbs only: start the VM that owns the
# GPU, wait until Sunshine in the guest answers, tell the user, and wait until the
# guest is shut down and the host has its GPU back.
#
#   examples/session.sh win11 192.168.1.50
#
# NAME's unit (vmlaunch@NAME.service) does the work; this script only starts it and
# waits on events, so closing the SSH session that ran it does not stop the VM.
# Sunshine's HTTPS port is 47989; with [session] ready = tcp:47989 in the definition,
# `vmlaunch start` alone would already wait for it.
set -u
vm=${1:?usage: session.sh NAME GUEST_ADDRESS [PORT]}
guest=${2:?usage: session.sh NAME GUEST_ADDRESS [PORT]}
port=${3:-47989}

# Returns once the unit is ready (READY=1) or failed, with the unit's last log lines.
vmlaunch start "$vm" || exit

# 10 minutes for Windows to boot, log in and start Sunshine (exit 14 on timeout,
# 15 when the VM ends first).
vmlaunch wait "$vm" --for "tcp:$guest:$port" --timeout 600
status=$?
if [ "$status" != 0 ]; then
        echo "session.sh: Sunshine on $guest:$port never answered; stopping $vm" >&2
        vmlaunch stop "$vm"
        exit "$status"
fi
echo "Sunshine answers on $guest:$port: connect with Moonlight."
echo "Shut Windows down (or run 'vmlaunch stop $vm') to end the session."

# Until the guest has shut down and vmlaunch has restored the host.
vmlaunch wait "$vm" --for stopped
echo "$vm ended; the host has its GPU back:"
vmlaunch status "$vm"
