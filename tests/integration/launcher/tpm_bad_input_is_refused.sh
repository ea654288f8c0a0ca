#!/bin/bash
# [tpm] without swtpm installed: check (and run) refuse with exit 4, naming the
# Debian package; a state dir not root's: exit 3 with the chown that fixes it.
# Nothing is created either way. swtpm_setup failing, and a state/ of another
# user, refuse the run (exit 4) with the reason.
. "$(dirname "$0")/lib.sh"
require_swtpm

install_def vltest "$HERE/tpm.ini" "\$a state_dir = $TPM_DIR"
# A PATH with QEMU but without swtpm: the programs are looked up in PATH.
mkdir -p "$TMP/bin"
ln -s "$(command -v "$QEMU_BIN")" "$TMP/bin/$QEMU_BIN"
out=$(timeout 20 env PATH="$TMP/bin" "$VMLAUNCH" check vltest 2>&1)
code=$?
[ "$code" = 4 ] || fail "check without swtpm exited $code, expected 4: $out"
grep -q "tpm.*swtpm is not installed; install the Debian package swtpm" <<<"$out" ||
        fail "check does not name the package: $out"
out=$(timeout 20 env PATH="$TMP/bin" "$VMLAUNCH" run vltest 2>&1)
code=$?
[ "$code" = 4 ] || fail "run without swtpm exited $code, expected 4: $out"
[ ! -e "$TPM_DIR" ] || fail "the state dir was created although the run was refused"

mkdir "$TPM_DIR"
chown nobody "$TPM_DIR"
out=$(timeout 20 "$VMLAUNCH" check vltest 2>&1)
code=$?
[ "$code" = 3 ] || fail "check with a state dir of nobody's exited $code, expected 3: $out"
grep -q "\[tpm\] state_dir.*chown root:root $TPM_DIR" <<<"$out" || fail "check does not give the fix: $out"
out=$(timeout 20 "$VMLAUNCH" run vltest 2>&1)
code=$?
[ "$code" = 3 ] || fail "run with a state dir of nobody's exited $code, expected 3: $out"
[ -z "$(ls -A "$TPM_DIR")" ] || fail "something was created in the refused state dir"

# swtpm_setup fails (the lock file of its certificate authority cannot be made): its
# own last line is quoted, and nothing half made is left.
chown root "$TPM_DIR"
chmod 0711 "$TPM_DIR"
mkdir -m 0700 "$TPM_DIR/localca"
chown vmlaunch-qemu: "$TPM_DIR/localca"
mkdir "$TPM_DIR/localca/.lock.swtpm-localca"
out=$(timeout 30 "$VMLAUNCH" run vltest 2>&1)
code=$?
[ "$code" = 4 ] || fail "run with a failing swtpm_setup exited $code, expected 4: $out"
grep -q "swtpm_setup (as vmlaunch-qemu, creating the TPM in $TPM_DIR/state.new) exited with status 1: " <<<"$out" ||
        fail "the swtpm_setup failure is not explained: $out"
[ ! -e "$TPM_DIR/state/tpm2-00.permall" ] || fail "a TPM was made anyway"
[ ! -e "$TPM_DIR/state.new" ] || fail "the unfinished TPM was left in state.new"
rmdir "$TPM_DIR/localca/.lock.swtpm-localca"

# state/ of another user: not taken over silently, not even when it holds no TPM.
rm -rf "$TPM_DIR/state"
mkdir -m 0700 "$TPM_DIR/state"
chown nobody "$TPM_DIR/state"
out=$(timeout 30 "$VMLAUNCH" run vltest 2>&1)
code=$?
[ "$code" = 4 ] || fail "run with state/ of nobody's exited $code, expected 4: $out"
grep -q "state belongs to uid 65534, not to QEMU's user vmlaunch-qemu: chown -R vmlaunch-qemu: " <<<"$out" ||
        fail "the owner problem is not explained: $out"
[ "$(stat -c %U "$TPM_DIR/state")" = nobody ] || fail "state/ of nobody's was changed"
echo "ok"
