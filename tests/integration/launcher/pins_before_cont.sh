#!/bin/bash
# The guest never runs unpinned: every sched_setaffinity vmlaunch makes on QEMU's
# vCPU and iothreads comes before it sends `cont` (QEMU starts with -S, so no vCPU
# runs before that). Read from strace of vmlaunch itself: the order of its syscalls.
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs to pin crosswise"
command -v strace >/dev/null || fail "strace is not installed (tools/install-deps installs it)"

install_def vltest "$HERE/pinned.ini"
trace=$TMP/strace
# LeakSanitizer cannot run under ptrace; the other tests check leaks in the ASan build.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
timeout -s KILL 60 strace -o "$trace" -e trace=sched_setaffinity,sendto -s 128 \
        "$VMLAUNCH" run vltest >"$LOG" 2>&1 &
VM_PID=$!
wait_for_log "is running"
timeout 30 "$VMLAUNCH" stop --force vltest || fail "stop --force failed"
wait_vm_exit 20
[ "$VM_STATUS" = 8 ] || fail "vmlaunch exited $VM_STATUS after stop, expected 8"

python3 - "$trace" <<'PY' || fail "pins and cont out of order (strace in $trace):$(cat "$trace")"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
pins = [i for i, l in enumerate(lines) if re.match(r"sched_setaffinity\([1-9][0-9]*, .*= 0$", l)]
cont = [i for i, l in enumerate(lines) if re.match(r'sendto\(.*"execute": ?\\?"cont\\?"', l)
        or ('sendto(' in l and '\\"cont\\"' in l)]
assert len(pins) >= 3, f"expected 2 vCPUs and 1 iothread pinned, saw {len(pins)} sched_setaffinity calls"
assert len(cont) == 1, f"expected one cont, saw {len(cont)}"
assert max(pins) < cont[0], f"a pin (line {max(pins) + 1}) came after cont (line {cont[0] + 1})"
print(f"ok: {len(pins)} threads pinned before cont")
PY
echo "ok"
