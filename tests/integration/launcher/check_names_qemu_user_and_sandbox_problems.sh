#!/bin/bash
# `check` and `run` agree on QEMU's confinement, before anything changes: a
# missing [qemu] user and a QEMU without seccomp (for the default sandbox) are
# errors naming FILE:LINE and the fix (exit 4); sandbox = off accepts that QEMU;
# user = root is allowed with a warning.
. "$(dirname "$0")/lib.sh"

install_def vltest "$HERE/pinned.ini" "s|^\[qemu\]|[qemu]\nuser = vl-no-such-user|"
def=$VMLAUNCH_CONFIG_DIR/vltest.ini
line=$(grep -n "^user = " "$def" | cut -d: -f1)
for verb in check run; do
        out=$("$VMLAUNCH" $verb vltest 2>&1)
        status=$?
        [ "$status" = 4 ] || fail "$verb with a missing user exited $status, expected 4: $out"
        grep -qF "$def:$line: [qemu] user: user 'vl-no-such-user' (QEMU's user) does not exist" <<<"$out" ||
                fail "$verb does not name the missing user at $def:$line: $out"
        grep -q "systemd-sysusers" <<<"$out" || fail "$verb does not say how to create the user: $out"
        grep -q "started QEMU" <<<"$out" && fail "$verb started QEMU"
done

# A QEMU built without seccomp refuses -sandbox.
no_seccomp=$TMP/qemu-no-seccomp
cat >"$no_seccomp" <<SH
#!/bin/sh
for a; do [ "\$a" = -sandbox ] && { echo "\$0: -sandbox on: There is no option group 'sandbox'" >&2; exit 1; }; done
exec $(command -v "$QEMU_BIN") "\$@"
SH
chmod 0755 "$no_seccomp"
install_def vltest "$HERE/pinned.ini" "s|^\[qemu\]|[qemu]\nbinary = $no_seccomp|"
for verb in check run; do
        out=$("$VMLAUNCH" $verb vltest 2>&1)
        status=$?
        [ "$status" = 4 ] || fail "$verb with a QEMU without seccomp exited $status, expected 4: $out"
        grep -qF "[qemu] sandbox: $no_seccomp has no seccomp support" <<<"$out" ||
                fail "$verb does not name the missing seccomp support: $out"
        grep -q "sandbox = off" <<<"$out" || fail "$verb does not say how to opt out: $out"
done
install_def vltest "$HERE/pinned.ini" "s|^\[qemu\]|[qemu]\nbinary = $no_seccomp\nsandbox = off|"
out=$("$VMLAUNCH" check vltest 2>&1) || fail "check refused sandbox = off with a QEMU without seccomp: $out"

install_def vltest "$HERE/pinned.ini" "s|^\[qemu\]|[qemu]\nuser = root|"
out=$("$VMLAUNCH" check vltest 2>&1) || fail "check refused user = root: $out"
grep -q "\[qemu\] user: root: QEMU runs as root with every capability" <<<"$out" ||
        fail "check does not warn about user = root: $out"
out=$("$VMLAUNCH" plan vltest 2>&1) || fail "plan refused user = root: $out"
grep -q "\[qemu\] user: root: QEMU runs as root" <<<"$out" || fail "plan does not warn about user = root: $out"
grep -q "QEMU runs as: root (every capability: not confined)" <<<"$out" || fail "plan does not say QEMU runs as root: $out"
install_def vltest "$HERE/pinned.ini" "s|^\[qemu\]|[qemu]\nsandbox = no|"
json=$("$VMLAUNCH" plan --json vltest 2>/dev/null) || fail "plan --json failed"
python3 -c 'import json,sys; q = json.loads(sys.argv[1])["qemu"]; assert q["user"] == "vmlaunch-qemu" and q["sandbox"] is False and "-sandbox" not in q["argv"], q' "$json" ||
        fail "plan --json does not report user and sandbox: $json"
echo "ok"
