#!/bin/bash
# QEMU gets no descriptor of vmlaunch's: besides 0, 1, 2 it has only its own
# (not the lock, signalfd, pidfd, pipes or sockets of vmlaunch, nor a descriptor
# vmlaunch itself inherited without close-on-exec).
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini"
exec 7>"$TMP/inherited-by-vmlaunch"
start_vm vltest
exec 7>&-
wait_for_log "is running"
qemu=$(state_get qemu_pid)
vmlaunch_pid=$(state_get pid)

# What vmlaunch holds (pipes and sockets carry their inode, so equal text means
# the same object; anonymous inodes like [signalfd] are compared by kind).
declare -A ours
for fd in /proc/"$vmlaunch_pid"/fd/*; do
        [ "${fd##*/}" -le 2 ] && continue
        ours[$(readlink "$fd")]=1
done
for fd in /proc/"$qemu"/fd/*; do
        n=${fd##*/}
        [ "$n" -le 2 ] && continue
        target=$(readlink "$fd") || continue
        case $target in
        *inherited-by-vmlaunch*) fail "QEMU fd $n is a descriptor vmlaunch inherited" ;;
        "$(RUN_DIR_OF vltest)/lock" | "$(RUN_DIR_OF vltest)/state") fail "QEMU fd $n: $target" ;;
        anon_inode:\[pidfd\]) fail "QEMU fd $n is a pidfd" ;;
        anon_inode:*) ;; # QEMU's own eventfds, signalfd, timerfds
        *) [ -z "${ours[$target]:-}" ] || fail "QEMU fd $n ($target) is shared with vmlaunch" ;;
        esac
done
# stdin is /dev/null, stdout and stderr are pipes to vmlaunch.
[ "$(readlink /proc/"$qemu"/fd/0)" = /dev/null ] || fail "QEMU's stdin is not /dev/null"
[[ "$(readlink /proc/"$qemu"/fd/2)" == pipe:* ]] || fail "QEMU's stderr is not a pipe"

timeout 30 "$VMLAUNCH" stop --force vltest >/dev/null 2>&1 || fail "stop failed"
wait_vm_exit 10
echo "ok"
