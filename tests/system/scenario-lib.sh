# shellcheck shell=bash
# Sourced by scenarios running INSIDE the emulated host: small check helpers that print
# "ok - ..." / "FAIL - ..." lines (readable in CI logs) and count failures.
failures=0

pass() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }

expect_eq() { # description actual expected
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$3', got '$2'"; fi
}

# Runs a command that must succeed, echoing it like "set -x" would.
must() {
  echo "+ $*"
  "$@" || { fail "'$*' exited with status $?"; return 1; }
}

# Polls a condition every 0.1 s until it holds or timeout_s passes (the kernel does
# some of its work asynchronously: device nodes, driver probing).
wait_until() { # timeout_s description command...
  local timeout_s=$1 description=$2 deadline
  shift 2
  deadline=$((SECONDS + timeout_s))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { fail "timed out after ${timeout_s}s: $description"; return 1; }
    sleep 0.1
  done
}

driver_of() { # pci address
  local link=/sys/bus/pci/devices/$1/driver
  if [ -L "$link" ]; then basename "$(readlink "$link")"; else echo "(none)"; fi
}

snapshot() { "$SYSTEM_TESTS/snapshot.sh"; }

# Compares two snapshot files and shows the difference when they differ.
expect_same_snapshot() { # description before after
  if diff -u "$2" "$3" >/dev/null; then pass "$1"; else fail "$1:"; diff -u "$2" "$3"; fi
}

finish() {
  if [ $failures -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
  exit 0
}
