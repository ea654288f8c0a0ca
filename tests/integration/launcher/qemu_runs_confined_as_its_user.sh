#!/bin/bash
# QEMU runs as [qemu] user (vmlaunch-qemu) with no capability in any set, no_new_privs,
# a seccomp filter (-sandbox) and only its documented environment, while its threads
# are still pinned by vmlaunch (root); and QEMU still ends when vmlaunch is killed
# outright (its parent-death signal survives the uid change).
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs to pin crosswise"
qemu_user=vmlaunch-qemu
getent passwd "$qemu_user" >/dev/null ||
        fail "user $qemu_user is missing: tools/install-deps creates it"

install_def vltest "$HERE/pinned.ini"
# Nothing of vmlaunch's own environment may reach QEMU.
VL_SECRET=leak NOTIFY_SOCKET=/nonexistent LD_LIBRARY_PATH=/nonexistent TZ=UTC start_vm vltest
wait_for_log "is running"
qemu=$(state_get qemu_pid)
[ -n "$qemu" ] || fail "no qemu_pid in the state file"
status=/proc/$qemu/status
field() { sed -n "s/^$1:[[:space:]]*//p" "$status"; }

uid=$(id -u "$qemu_user") gid=$(id -g "$qemu_user")
[ "$(field Uid)" = "$uid	$uid	$uid	$uid" ] || fail "QEMU's Uid is '$(field Uid)', not $uid"
[ "$(field Gid)" = "$gid	$gid	$gid	$gid" ] || fail "QEMU's Gid is '$(field Gid)', not $gid"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
        [ "$(field $set)" = 0000000000000000 ] || fail "QEMU's $set is $(field $set), not empty"
done
[ "$(field NoNewPrivs)" = 1 ] || fail "QEMU's NoNewPrivs is $(field NoNewPrivs)"
[ "$(field Seccomp)" = 2 ] || fail "QEMU's Seccomp is $(field Seccomp), not 2 (filter)"
grep -q "kvm" <<<"$(id -Gn "$qemu_user")" &&
        { field Groups | grep -qw "$(getent group kvm | cut -d: -f3)" || fail "QEMU lacks the kvm group"; }

env=$(tr '\0' '\n' <"/proc/$qemu/environ" | sort)
want=$(printf '%s\n' "HOME=/" "LANG=C.UTF-8" "LOGNAME=$qemu_user" \
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "TZ=UTC" \
        "USER=$qemu_user" | sort)
[ "$env" = "$want" ] || fail "QEMU's environment is not the documented one:
$env"

# Still pinned by root from outside.
tid=$(tid_named "$qemu" "CPU 0/TCG") || fail "QEMU has no thread 'CPU 0/TCG'"
[ "$(cpus_of "$qemu" "$tid")" = 1 ] || fail "vCPU 0 is not on CPU 1"
grep -q "user $qemu_user, seccomp sandbox" "$LOG" || fail "the log does not say who QEMU runs as"

# vmlaunch killed outright: QEMU must not outlive it.
vmlaunch_pid=$(state_get pid)
[ -n "$vmlaunch_pid" ] || fail "no pid in the state file"
kill -KILL "$vmlaunch_pid"
wait "$VM_PID" 2>/dev/null
VM_PID=
deadline=$((SECONDS + 15))
while kill -0 "$qemu" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "QEMU (pid $qemu) outlived a killed vmlaunch by 15 s"
        sleep 0.05
done
timeout 30 "$VMLAUNCH" restore vltest >/dev/null 2>&1
echo "ok"
