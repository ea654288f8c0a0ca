#!/bin/bash
# Bad command lines, verb by verb: each exits 2 (usage), prints exactly the expected
# first line on stderr and nothing on stdout, and touches no VM (the runtime and config
# directories stay empty).
set -u
: "${VMLAUNCH:?set by meson}"
tmp=$(mktemp -d /tmp/vmlaunch-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMLAUNCH_RUNTIME_DIR=$tmp/run VMLAUNCH_CONFIG_DIR=$tmp/etc
mkdir -p "$VMLAUNCH_RUNTIME_DIR" "$VMLAUNCH_CONFIG_DIR"

failures=0
# expect 'ARGS' 'FIRST LINE OF STDERR'
expect() {
  local args=$1 want=$2 out status
  # shellcheck disable=SC2086 # ARGS are words
  out=$("$VMLAUNCH" $args 2>"$tmp/err")
  status=$?
  local got
  got=$(head -n 1 "$tmp/err")
  if [ "$status" != 2 ] || [ -n "$out" ] || [ "$got" != "$want" ]; then
    echo "FAIL: vmlaunch $args: exit $status (want 2), stdout '$out'"
    echo "  stderr: $got"
    echo "  want:   $want"
    failures=$((failures + 1))
  else
    echo "ok - vmlaunch $args"
  fi
}

expect "" "Usage: vmlaunch [--help] [--version] VERB [OPTIONS] [NAME|FILE]"
expect "run a b" "vmlaunch run: one NAME|FILE expected, got 'a' and 'b'"
expect "run --bogus" "vmlaunch run: unknown option '--bogus'; see \`vmlaunch run --help\`"
expect "plan a b" "vmlaunch plan: one NAME|FILE expected, got 'a' and 'b'"
expect "plan --json" "Usage: vmlaunch plan [OPTIONS] NAME|FILE"
expect "check --bogus" "vmlaunch check: unknown option '--bogus'; see \`vmlaunch check --help\`"
expect "check --config-dir" "vmlaunch check: --config-dir needs a directory"
expect "status a b" "vmlaunch status: one NAME expected, got 'a' and 'b'"
expect "status" "Usage: vmlaunch status [--json] NAME"
expect "stop --x vm" "vmlaunch stop: unknown option '--x'; see \`vmlaunch stop --help\`"
expect "stop --timeout abc vm" "vmlaunch stop: --timeout 'abc': expected seconds from 0 to 86400"
expect "stop --timeout -5 vm" "vmlaunch stop: --timeout '-5': expected seconds from 0 to 86400"
expect "stop a b" "vmlaunch stop: one NAME expected, got 'a' and 'b'"
expect "restore a b" "vmlaunch restore: one NAME expected, got 'a' and 'b'"
expect "restore -x" "vmlaunch restore: unknown option '-x'; see \`vmlaunch restore --help\`"
expect "restore" "Usage: vmlaunch restore NAME"
expect "qmp vm" "Usage: vmlaunch qmp NAME JSON"
expect "topology --suggest 0" "vmlaunch topology: --suggest '0': expected a number from 1 to 4096"
expect "topology --json" "vmlaunch topology: --json goes with --suggest N or --check"
expect "topology --suggest 4 --check vm" "vmlaunch topology: use either --suggest or --check"
expect "start" "Usage: vmlaunch start [--no-block] [--json] [--timeout SECONDS] NAME"
expect "start a b" "vmlaunch start: one NAME expected, got 'a' and 'b'"
expect "start --timeout x vm" "vmlaunch start: --timeout 'x': expected seconds from 0 to 86400"
expect "start --bogus vm" "vmlaunch start: unknown option '--bogus'; see \`vmlaunch start --help\`"
expect "start /etc/vmlaunch/vm.ini" "vmlaunch start: '/etc/vmlaunch/vm.ini': expected a NAME (the unit vmlaunch@NAME.service runs CONFIG_DIR/NAME.ini), not a file"
expect "wake vm" "vmlaunch wake: unexpected 'vm'; the packet names the VM (or --mac MAC)"
expect "wake --mac 52:54:00:12:34" "vmlaunch wake: --mac '52:54:00:12:34': expected a MAC like 52:54:00:12:34:56"
expect "wake --exit-idle-time -1" "vmlaunch wake: --exit-idle-time '-1': expected seconds from 0 to 3600"
expect "wake" "vmlaunch wake: no socket was passed (LISTEN_FDS); it is started by vmlaunch-wake.socket (\`systemctl enable --now vmlaunch-wake.socket\`), or give --mac MAC"

# getopt_long: --opt=VALUE, unambiguous abbreviations, `--`, short clusters, and the
# order options and words come in, whatever POSIXLY_CORRECT says.
expect "--bogus" "vmlaunch: unknown option '--bogus'; see \`vmlaunch --help\`"
expect "-x run" "vmlaunch: unknown option '-x'; see \`vmlaunch --help\`"
expect "plan -xy a" "vmlaunch plan: unknown option '-x'; see \`vmlaunch plan --help\`"
expect "plan --json=yes a" "vmlaunch plan: --json takes no value; see \`vmlaunch plan --help\`"
expect "plan --topology=" "vmlaunch plan: --topology needs FILE or a synthetic description"
expect "plan --brief --json a" "vmlaunch plan: --brief is for people; --json always has the whole argv"
expect "check --config-dir=" "vmlaunch check: --config-dir needs a directory"
expect "check --conf" "vmlaunch check: --config-dir needs a directory"
expect "run --allow a b" "vmlaunch run: one NAME|FILE expected, got 'a' and 'b'"
expect "stop --time=abc vm" "vmlaunch stop: --timeout 'abc': expected seconds from 0 to 86400"
expect "restore -- -x a" "vmlaunch restore: one NAME expected, got '-x' and 'a'"
expect "topology --suggest=0" "vmlaunch topology: --suggest '0': expected a number from 1 to 4096"
expect "topology --s 4" "vmlaunch topology: ambiguous option '--s' (--synthetic, --suggest); see \`vmlaunch topology --help\`"
expect "topology --iothreads" "vmlaunch topology: --iothreads needs a value; see \`vmlaunch topology --help\`"
expect "topology vm" "vmlaunch topology: unknown argument 'vm'; see \`vmlaunch topology --help\`"
expect "qmp --bogus vm x" "vmlaunch qmp: unknown option '--bogus'; see \`vmlaunch qmp --help\`"
expect "qmp vm x y" "Usage: vmlaunch qmp NAME JSON"
expect "events" "Usage: vmlaunch events [--json] NAME"
expect "events a b" "vmlaunch events: one NAME expected, got 'a' and 'b'"
expect "events --bogus vm" "vmlaunch events: unknown option '--bogus'; see \`vmlaunch events --help\`"
expect "wait vm" "Usage: vmlaunch wait NAME --for COND [--timeout SECONDS] [--json]"
expect "wait --for running" "Usage: vmlaunch wait NAME --for COND [--timeout SECONDS] [--json]"
expect "wait vm --for" "vmlaunch wait: --for needs a condition: running, stopped, agent, ready or tcp:HOST:PORT"
expect "wait vm --for up" "vmlaunch wait: --for 'up': unknown condition; expected running, stopped, agent, ready or tcp:HOST:PORT"
expect "wait vm --for tcp:10.0.0.2" "vmlaunch wait: --for 'tcp:10.0.0.2': no port; expected tcp:HOST:PORT"
expect "wait vm --for tcp:10.0.0.2:0" "vmlaunch wait: --for 'tcp:10.0.0.2:0': port '0': expected a number from 1 to 65535"
expect "wait vm --for tcp:10.0.0.2:99999" "vmlaunch wait: --for 'tcp:10.0.0.2:99999': port '99999': expected a number from 1 to 65535"
expect "wait vm --for tcp::80" "vmlaunch wait: --for 'tcp::80': no host; expected tcp:HOST:PORT"
expect "wait vm --for running --timeout soon" "vmlaunch wait: --timeout 'soon': expected seconds from 0 to 86400"
expect "wait vm --for running --timeout -1" "vmlaunch wait: --timeout '-1': expected seconds from 0 to 86400"
expect "wait vm --for running --timeout 86401" "vmlaunch wait: --timeout '86401': expected seconds from 0 to 86400"
expect "wait vm --for running --bogus" "vmlaunch wait: unknown option '--bogus'; see \`vmlaunch wait --help\`"
expect "wait a b --for running" "vmlaunch wait: one NAME expected, got 'a' and 'b'"
expect "list --bogus" "vmlaunch list: unknown option '--bogus'; see \`vmlaunch list --help\`"
expect "list vm" "vmlaunch list: unknown argument 'vm'; see \`vmlaunch list --help\`"
expect "list --config-dir" "vmlaunch list: --config-dir needs a directory"
POSIXLY_CORRECT=1 expect "status a --bogus" "vmlaunch status: unknown option '--bogus'; see \`vmlaunch status --help\`"

[ -z "$(find "$VMLAUNCH_RUNTIME_DIR" "$VMLAUNCH_CONFIG_DIR" -mindepth 1)" ] ||
  { echo "FAIL: a usage error wrote to the runtime or config directory"; failures=$((failures + 1)); }
[ "$failures" = 0 ] || { echo "$failures case(s) failed"; exit 1; }
echo "all usage errors as expected"
