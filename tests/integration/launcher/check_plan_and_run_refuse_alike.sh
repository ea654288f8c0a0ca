#!/bin/bash
# What the QEMU command line cannot carry, a [qemu] args option vmlaunch owns, and a
# [vm] name that is not the file's name are refused when the definition is read: check,
# plan and run all exit 3 with the same FILE:LINE message, and run starts nothing (no
# run directory under either name, no QEMU).
. "$(dirname "$0")/lib.sh"

sata=
for i in 0 1 2 3 4 5 6; do
        : >"$TMP/d$i.img"
        sata+="[disk.d$i]\npath = $TMP/d$i.img\nbus = sata\n"
done
cases=(
        "vendor_id|s/^enabled = off/enabled = on\nvendor_id = ab,cd/|[hyperv] vendor_id: \"ab,cd\": contains ',' or '='"
        "disk_id|\$a [disk.abcdefghijklmnopqrs]\npath = /dev/null|[disk.abcdefghijklmnopqrs]: ID \"abcdefghijklmnopqrs\" is 19 characters"
        "sata|\$a $sata|[disk.d6] bus: sata disk number 7, but q35 has 6 SATA ports"
        "iothread|s/^io1 = 0/io1 = 0\nio$(printf 'x%.0s' $(seq 63)) = 0/|iothread ID is 65 characters; expected at most 64"
        "machine|s/^accel = tcg/accel = tcg\nmachine = 7q35/|[qemu] machine: \"7q35\": expected a QEMU machine type"
        "cpu_model|s/^model = qemu64/model = 486/|[cpu] model: \"486\": expected host or a QEMU CPU model"
        "monitor|s/^accel = tcg/accel = tcg\nargs = -monitor stdio/|[qemu] args: -monitor is not allowed"
        "chardev|s/^accel = tcg/accel = tcg\nargs = -chardev socket,id=ctl,path=\/tmp\/x/|[qemu] args: -chardev socket,id=ctl,path=/tmp/x is not allowed"
        "name|s/^name = .*/name = other/|[vm] name: \"other\" differs from \"vltest\", the name this file is loaded as (vltest.ini)"
)
for c in "${cases[@]}"; do
        IFS='|' read -r label edit expected <<<"$c"
        install_def vltest "$HERE/pinned.ini" "$edit"
        for verb in check plan run; do
                out=$(timeout 20 "$VMLAUNCH" "$verb" vltest 2>&1)
                status=$?
                [ "$status" = 3 ] || fail "$label: $verb exited $status, expected 3: $out"
                grep -qF "$VMLAUNCH_CONFIG_DIR/vltest.ini:" <<<"$out" &&
                        grep -qF -- "$expected" <<<"$out" ||
                        fail "$label: $verb did not say '$expected' with FILE:LINE: $out"
        done
        [ ! -e "$(RUN_DIR_OF vltest)" ] && [ ! -e "$(RUN_DIR_OF other)" ] ||
                fail "$label: run created a run directory"
        ! grep -q "started QEMU" <<<"$out" || fail "$label: run started QEMU"
done
echo "ok"
