#!/bin/bash
# The zsh completion as installed (`meson install` into a DESTDIR), driven in a real
# interactive zsh through a pseudo-terminal (zsh_capture.zsh): verbs, a verb's options,
# VM names from the config dir, running VMs, wait's --for conditions.
set -u
: "${VMLAUNCH:?set by meson}" "${BUILD_ROOT:?set by meson}" "${SOURCE_ROOT:?set by meson}"
command -v zsh >/dev/null || { echo "skipped: zsh is not installed (Debian package zsh)"; exit 77; }
TMP=$(mktemp -d /tmp/vmlaunch-zsh.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
meson install -C "$BUILD_ROOT" --no-rebuild --quiet --destdir "$TMP/dest" >"$TMP/install.log" 2>&1 ||
        { echo "FAIL: meson install"; cat "$TMP/install.log"; exit 1; }
fn=$(find "$TMP/dest" -path '*/zsh/site-functions/_vmlaunch' -type f)
[ -n "$fn" ] || { echo "FAIL: no zsh/site-functions/_vmlaunch installed"; exit 1; }
mkdir -p "$TMP/etc" "$TMP/run/games" "$TMP/empty"
touch "$TMP/etc/win10.ini" "$TMP/etc/win11.ini"
export VMLAUNCH_CONFIG_DIR=$TMP/etc VMLAUNCH_RUNTIME_DIR=$TMP/run
export PATH=$(dirname "$VMLAUNCH"):$PATH
fails=0
expect() { # expect "WANTED" LINE
        local want=$1 line=$2 out w got
        out=$(mktemp -d "$TMP/c.XXXXXX")
        (cd "$TMP/empty" && zsh -f "$SOURCE_ROOT/tests/completion/zsh_capture.zsh" "${fn%/*}" "$out" "$line") ||
                { echo "FAIL '$line': zsh did not finish"; fails=$((fails + 1)); return; }
        got=" $(sort -u "$out/hits" 2>/dev/null | tr '\n' ' ')"
        for w in $want; do
                [[ $got == *" $w "* ]] || { echo "FAIL '$line': no '$w' in:$got"; fails=$((fails + 1)); }
        done
        echo "ok: '$line' ->$got"
}
expect "run plan check restore status stop qmp guest topology start events wait list wake import-libvirt win10 win11" "vmlaunch "
expect "--json --topology --config-dir --allow-unsafe-owner --help" "vmlaunch plan --"
expect "--force --timeout" "vmlaunch stop --"
expect "win10 win11" "vmlaunch check "
expect "games" "vmlaunch stop "
expect "running stopped agent ready tcp:" "vmlaunch wait games --for="
expect "--name --hooks" "vmlaunch import-libvirt --"
[ $fails = 0 ] && echo "all passed"
[ $fails = 0 ]
