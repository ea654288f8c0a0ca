#!/bin/bash
# An installed vmlaunch is a root tool: no environment variable meant for tests may
# point it at another root or make it fail on purpose. A build configured without
# -Dtest-seams=true (meson's default) must not contain the seams' names at all
# (hostprep/test_seams.h). The builds tools/test runs the suites in have the seams on,
# so it checks a default build of its own, build-release/, with this test.
set -u
: "${VMLAUNCH:?set by meson}"
if [ "${TEST_SEAMS:-}" = true ]; then
  echo "skipped: this build has -Dtest-seams=true (tools/test runs this test in build-release/)"
  exit 77
fi
[ -f "$VMLAUNCH" ] || { echo "no binary at $VMLAUNCH"; exit 1; }
found=0
for name in VMLAUNCH_SYSROOT VMLAUNCH_FAIL_STEP VMLAUNCH_FAIL_UNDO VMLAUNCH_KILL_BEFORE_RECORD sysroot_is_fixture; do
  count=$(grep -c -a -F -- "$name" "$VMLAUNCH")
  if [ "$count" -ne 0 ]; then
    echo "FAIL - $VMLAUNCH contains '$name' ($count line(s) of its bytes): a test seam leaked into the release build"
    found=$((found + 1))
  else
    echo "ok - no '$name' in $VMLAUNCH"
  fi
done
exit $((found > 0))
