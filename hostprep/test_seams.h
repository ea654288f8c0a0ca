/* Test seams: how the tests drive a whole vmlaunch binary through its environment.
 *
 *   VMLAUNCH_SYSROOT=DIR           every /sys, /proc and /dev path is read and written
 *                                  below DIR (a fixture tree); no systemd unit is queried,
 *                                  stopped or started, no module is loaded or removed, and
 *                                  a process has exited when DIR/proc/PID is gone; `start`
 *                                  sees systemd only if DIR/run/systemd/system exists
 *   VMLAUNCH_FAIL_STEP=k|name[:n]  hostprep_options.fail_step (see hostprep.h)
 *   VMLAUNCH_FAIL_UNDO=j|name      hostprep_options.fail_undo
 *   VMLAUNCH_KILL_BEFORE_RECORD=k|name:n  hostprep_options.kill_before_record
 *
 * Only a build configured with -Dtest-seams=true compiles test_seams.c, which reads
 * them; every other build links test_seams_off.c, which reads nothing, so an installed
 * vmlaunch (a root tool) cannot be pointed at another root or told to fail by its
 * environment. tests/release_has_no_test_seams.sh checks a release binary for these names. */
#pragma once

struct hostprep_ctx;

/* The root the tests point system paths at; NULL: the real /. */
const char *test_seams_sysroot(void);

/* Fills in from the environment what the caller of hostprep left unset in ctx: the
 * operations still NULL, and the failure points when the options named none. */
void test_seams_fill(struct hostprep_ctx *ctx);
