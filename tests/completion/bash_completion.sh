#!/bin/bash
# The bash completion as installed (`meson install` into a DESTDIR): registered for
# vmlaunch, every verb `vmlaunch --help` lists and every option each verb's --help
# names, VM names from the config dir (and --config-dir), running VMs from the runtime
# dir for the verbs that act on one, and wait's --for conditions. Run twice: with
# bash-completion's own helpers loaded (as on a desktop) and without.
set -u
: "${VMLAUNCH:?set by meson}" "${BUILD_ROOT:?set by meson}"
TMP=$(mktemp -d /tmp/vmlaunch-completion.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
meson install -C "$BUILD_ROOT" --no-rebuild --quiet --destdir "$TMP/dest" >"$TMP/install.log" 2>&1 ||
        { echo "FAIL: meson install"; cat "$TMP/install.log"; exit 1; }
completion=$(find "$TMP/dest" -path '*/bash-completion/completions/vmlaunch' -type f)
[ -n "$completion" ] || { echo "FAIL: no bash-completion/completions/vmlaunch installed"; exit 1; }
zsh_completion=$(find "$TMP/dest" -path '*/zsh/site-functions/_vmlaunch' -type f)
[ -n "$zsh_completion" ] || { echo "FAIL: no zsh/site-functions/_vmlaunch installed"; exit 1; }
echo "installed: ${completion#"$TMP/dest"} ${zsh_completion#"$TMP/dest"}"

mkdir -p "$TMP/etc" "$TMP/other" "$TMP/run/win10" "$TMP/run/games" "$TMP/run/.hidden"
touch "$TMP/etc/win10.ini" "$TMP/etc/win11.ini" "$TMP/etc/demo.ini" "$TMP/other/lab.ini"

# The checks, in a bash of their own per mode ($1: "with" or "without" bash-completion).
cat >"$TMP/checks.sh" <<'CHECKS'
set -u
fails=0
if [ "$MODE" = with ]; then
        # bash-completion's own loader, as an interactive shell has it
        source /usr/share/bash-completion/bash_completion || { echo "FAIL: bash_completion"; exit 1; }
fi
source "$COMPLETION"
complete -p vmlaunch | grep -q -- '-F _vmlaunch' || { echo "FAIL: complete -p: $(complete -p vmlaunch)"; exit 1; }
# comp WORDS...: COMPREPLY for the command line "WORDS" (the last word is the one
# completed, "" for a new word), sorted, one line.
comp() {
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _vmlaunch vmlaunch "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' '
}
expect() { # expect "WANTED WORDS" -- WORDS...
        local want=$1 got w
        shift 2
        got=" $(comp "$@")"
        for w in $want; do
                if [[ $got != *" $w "* ]]; then
                        echo "FAIL [$MODE] '$*': no '$w' in:$got"
                        fails=$((fails + 1))
                fi
        done
}
expect_not() {
        local unwanted=$1 got w
        shift 2
        got=" $(comp "$@")"
        for w in $unwanted; do
                [[ $got == *" $w "* ]] && { echo "FAIL [$MODE] '$*': '$w' in:$got"; fails=$((fails + 1)); }
        done
}
# Every verb vmlaunch itself lists.
verbs=$("$VMLAUNCH" --help | sed -n '/^Verbs:/,/^$/p' | awk 'NR > 1 && $1 { print $1 }')
[ -n "$verbs" ] || { echo "FAIL: no verbs in vmlaunch --help"; exit 1; }
expect "$verbs --help --version" -- vmlaunch ""
expect "plan" -- vmlaunch pl
# `vmlaunch NAME` runs NAME: names complete in the verb's place too.
expect "win10 win11 demo" -- vmlaunch ""
# Every option each verb's --help names (lstopo's --of is quoted, not ours).
for verb in $verbs; do
        opts=$("$VMLAUNCH" "$verb" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]+' | sort -u |
                grep -vx -- '--of')
        got=" $(comp vmlaunch "$verb" --) "
        for o in $opts; do
                [[ $got == *" $o "* || $got == *" $o= "* ]] ||
                        { echo "FAIL [$MODE] $verb: its --help names $o, not completed:$got"; fails=$((fails + 1)); }
        done
done
expect "--json --topology= --config-dir= --allow-unsafe-owner --help" -- vmlaunch plan --
expect "--force --timeout=" -- vmlaunch stop --
expect "--name= --hooks=" -- vmlaunch import-libvirt --
expect "--no-block --json --timeout=" -- vmlaunch start --
expect "--for= --timeout= --json" -- vmlaunch wait win10 --
# Definitions for the verbs that read one, from the config dir or --config-dir.
for verb in run plan check restore start; do
        expect "win10 win11 demo" -- vmlaunch "$verb" ""
done
expect "win10 win11" -- vmlaunch check win
expect_not "demo" -- vmlaunch check win
expect "lab" -- vmlaunch --config-dir="$OTHER" plan ""
expect "lab" -- vmlaunch plan --config-dir="$OTHER" ""
# Running VMs for the verbs that act on one.
for verb in stop status qmp guest events wait; do
        expect "win10 games" -- vmlaunch "$verb" ""
        expect_not ".hidden demo" -- vmlaunch "$verb" ""
done
# wait --for: the conditions, as --for=COND and --for COND.
expect "running stopped agent ready tcp:" -- vmlaunch wait win10 --for=
expect "running ready" -- vmlaunch wait win10 --for=r
expect "agent" -- vmlaunch wait win10 --for a
expect "-" -- vmlaunch import-libvirt ""
expect_not "win10" -- vmlaunch topology ""
exit $fails
CHECKS
rc=0
for mode in with without; do
        if [ $mode = with ] && [ ! -r /usr/share/bash-completion/bash_completion ]; then
                echo "skipped [with]: bash-completion is not installed (Debian package bash-completion)"
                continue
        fi
        env -i PATH="$PATH" HOME="$TMP" MODE=$mode COMPLETION="$completion" VMLAUNCH="$VMLAUNCH" \
                OTHER="$TMP/other" VMLAUNCH_CONFIG_DIR="$TMP/etc" VMLAUNCH_RUNTIME_DIR="$TMP/run" \
                bash --norc --noprofile "$TMP/checks.sh" || rc=1
        [ $rc = 0 ] && echo "ok: bash completion, $mode bash-completion's helpers"
done
# zsh: the file parses (its behaviour needs an interactive zsh).
if command -v zsh >/dev/null; then
        zsh -n "$zsh_completion" && echo "ok: zsh parses _vmlaunch" || { echo "FAIL: zsh -n _vmlaunch"; rc=1; }
fi
exit $rc
