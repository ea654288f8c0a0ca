#!/bin/bash
# What root runs or opens for a definition must be root's (issue 12, item 4). A table
# of layouts another user could have planted: for each, `vmlaunch check` and
# `vmlaunch run` refuse with the expected exit code and a message naming the exact
# path, before anything runs: the VM's hooks write a marker file, which must not
# appear (a good layout first shows that they do write it), and no QEMU starts. A
# planted journal is refused by `restore` (exit 9) without running the release hook
# it names.
. "$(dirname "$0")/lib.sh"

USER_NAME=vmlaunch-qemu
id "$USER_NAME" >/dev/null 2>&1 || USER_NAME=nobody

# mov dx, 0x604; mov ax, 0x2000; out dx, ax; hlt: the guest powers itself off.
image=$TMP/poweroff.img
printf '\xba\x04\x06\xb8\x00\x20\xef\xf4\xeb\xfd' >"$image"
truncate -s 510 "$image"
printf '\x55\xaa' >>"$image"
truncate -s 1M "$image"

H=$TMP/hooks
MARK=$TMP/marker

# fresh_layout: a safe layout (root's hooks, dirs 0755), no marker, no run dir.
fresh_layout() {
        rm -rf "$H" "$MARK" "$TMP/vars" "$TMP/u" "$TMP/real-hook" "$VMLAUNCH_RUNTIME_DIR"
        chmod 0755 "$VMLAUNCH_CONFIG_DIR"
        mkdir -p "$H/vltest/prepare/begin" "$H/vltest/release/end" "$H/vltest/started/begin"
        chmod -R 0755 "$H"
        local stage
        for stage in prepare/begin release/end started/begin; do
                printf '#!/bin/sh\necho "$VMLAUNCH_STAGE" >>%s\n' "$MARK" >"$H/vltest/$stage/10-mark"
                chmod 0755 "$H/vltest/$stage/10-mark"
        done
        install_def vltest "$HERE/poweroff.ini" "s|@IMAGE@|$image|"
        printf '\n[hooks]\ndir = %s\n' "$H" >>"$VMLAUNCH_CONFIG_DIR/vltest.ini"
}

# refused NAME CODE PATH: check and run both exit CODE naming PATH; nothing ran.
refused() {
        local name=$1 code=$2 path=$3 out status verb
        for verb in check run; do
                out=$(timeout 30 "$VMLAUNCH" $verb vltest 2>&1)
                status=$?
                [ "$status" = "$code" ] ||
                        fail "$name: $verb exited $status, expected $code: $out"
                grep -qF -- "$path" <<<"$out" || fail "$name: $verb did not name $path: $out"
                [ ! -e "$MARK" ] || fail "$name: a hook ran ($verb): $(cat "$MARK")"
                ! grep -q "started QEMU" <<<"$out" || fail "$name: QEMU was started: $out"
        done
        [ ! -e "$VMLAUNCH_RUNTIME_DIR/vltest/journal" ] || fail "$name: a journal was left"
        echo "refused: $name ($(grep -m1 -F -- "$path" <<<"$out"))"
}

# The good layout: check passes, run runs every stage's hook and the guest.
fresh_layout
timeout 30 "$VMLAUNCH" check vltest >"$LOG" 2>&1 || fail "check of the safe layout failed"
start_vm vltest
wait_vm_exit 30
[ "$VM_STATUS" = 0 ] || fail "the safe layout's run exited $VM_STATUS"
[ "$(tr '\n' ' ' <"$MARK")" = "prepare/begin started/begin release/end " ] ||
        fail "the hooks did not all run: $(cat "$MARK" 2>/dev/null)"

fresh_layout
chown "$USER_NAME" "$H"
refused "hooks dir owned by a user" 3 "$H is owned by uid"

fresh_layout
chown "$USER_NAME" "$H/vltest/prepare/begin"
refused "stage dir owned by a user" 3 "$H/vltest/prepare/begin is owned by uid"

fresh_layout
chown "$USER_NAME" "$H/vltest/release/end/10-mark"
refused "hook owned by a user" 3 "$H/vltest/release/end/10-mark is owned by uid"

fresh_layout
chmod 0777 "$H/vltest/started/begin"
refused "0777 stage dir" 3 "$H/vltest/started/begin is writable by others (mode 0777)"

fresh_layout
mv "$H/vltest/prepare/begin/10-mark" "$TMP/real-hook"
ln -s "$TMP/real-hook" "$H/vltest/prepare/begin/10-mark"
refused "symlinked hook" 3 "hook $H/vltest/prepare/begin/10-mark is a symlink"

fresh_layout
mkdir -p "$TMP/vars" && chmod 0755 "$TMP/vars"
ln -s /etc/shadow "$TMP/vars/VARS.fd"
sed -i "s|^type = bios|type = uefi\nvars = $TMP/vars/VARS.fd|" "$VMLAUNCH_CONFIG_DIR/vltest.ini"
refused "symlinked vars path" 3 "[firmware] vars $TMP/vars/VARS.fd is a symlink"

fresh_layout
mkdir -p "$TMP/vars" && chown "$USER_NAME" "$TMP/vars"
sed -i "s|^type = bios|type = uefi\nvars = $TMP/vars/VARS.fd|" "$VMLAUNCH_CONFIG_DIR/vltest.ini"
refused "vars folder owned by a user" 3 "$TMP/vars is owned by uid"
[ ! -e "$TMP/vars/VARS.fd" ] || fail "the vars copy was made in a user's folder"

fresh_layout
chmod 0777 "$VMLAUNCH_CONFIG_DIR"
refused "user-writable parent of the definition" 3 \
        "$VMLAUNCH_CONFIG_DIR is writable by others (mode 0777)"

fresh_layout
mkdir -p "$TMP/u" && chown "$USER_NAME" "$TMP/u"
ln -s "$image" "$TMP/u/disk.img" && chown -h "$USER_NAME" "$TMP/u/disk.img"
sed -i "s|^path = .*|path = $TMP/u/disk.img|" "$VMLAUNCH_CONFIG_DIR/vltest.ini"
refused "a user's symlink as a disk" 3 "$TMP/u/disk.img is a symlink (to $image) in $TMP/u"

# A planted journal: restore must not act on it (its record would run the release
# hooks as root).
for how in owner mode; do
        fresh_layout
        dir=$VMLAUNCH_RUNTIME_DIR/vltest
        mkdir -p "$dir" && chmod 0700 "$dir"
        printf 'vmlaunch-journal 1 vm=vltest\nhooks desc=x dir=%s vm=vltest timeout=10\n' "$H" \
                >"$dir/journal"
        if [ $how = owner ]; then chown "$USER_NAME" "$dir/journal"; else chmod 0666 "$dir/journal"; fi
        out=$(timeout 30 "$VMLAUNCH" restore vltest 2>&1)
        status=$?
        [ "$status" = 9 ] || fail "planted journal ($how): restore exited $status, expected 9: $out"
        grep -qF "refusing the journal: $dir/journal is" <<<"$out" ||
                fail "planted journal ($how): restore did not name it: $out"
        [ ! -e "$MARK" ] || fail "planted journal ($how): the release hook ran"
        echo "refused: planted journal ($how): $out"
done
rm -rf "$VMLAUNCH_RUNTIME_DIR"
echo "ok"
