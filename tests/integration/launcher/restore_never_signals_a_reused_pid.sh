#!/bin/bash
# The state file of a killed run names QEMU's pid, but by the time `restore` runs that
# pid may belong to another process. restore tells them apart by start time and leaves
# the other process alone, and still restores.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini"
dir=$(RUN_DIR_OF vltest)
mkdir -p "$dir" && chmod 700 "$dir"
sleep 1000 &
other=$!
dead=$(sh -c 'echo $$')
printf 'pid=%s\nqemu_pid=%s\nqemu_start=1\nphase=running\nstarted=0\nshutdown_timeout=2\n' \
        "$dead" "$other" >"$dir/state"
printf 'vmlaunch-journal 1 vm=vltest\n' >"$dir/journal"

out=$(timeout 20 "$VMLAUNCH" restore vltest 2>&1)
status=$?
alive=no
kill -0 "$other" 2>/dev/null && alive=yes
kill -KILL "$other" 2>/dev/null
[ "$status" = 0 ] || fail "restore exited $status: $out"
[ "$alive" = yes ] || fail "restore killed pid $other, which was not QEMU: $out"
grep -q "pid $other is not vltest's QEMU any more" <<<"$out" || fail "restore said: $out"
[ ! -e "$dir/journal" ] || fail "restore left the journal"
echo "ok"
