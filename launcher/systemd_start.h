/* Starting vmlaunch@NAME.service through systemd (sd-bus) and following its start job,
 * for `vmlaunch start` and `vmlaunch wake`; and the unit's last journal lines when the
 * start failed. libsystemd is loaded on first use (hostprep/dl_systemd.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/strv.h"

/* True when systemd is the init system: /run/systemd/system exists, the test
 * sd_booted(3) makes (through the sysroot, so tests can point it at a tree without). */
bool systemd_booted(void);

/* What became of one start. */
struct unit_start_result {
        bool already_active; /* ActiveState was active: nothing was started */
        bool queued;         /* no_block: the job was queued and not followed */
        bool gave_up;        /* timeout_ms passed first: the job goes on */
        /* systemd's job result: "done", "failed", "canceled", "timeout", "dependency",
         * "skipped", ...; "" when the job was not followed to its end. */
        char job_result[32];
        /* The unit's main process once the job failed: CLD_EXITED (1) with its exit
         * status, CLD_KILLED (2) / CLD_DUMPED (3) with the signal; code 0 when it never
         * ran or the properties could not be read. */
        int exec_main_code, exec_main_status;
        /* InvocationID of the unit's last start, 32 hex digits, "" when unknown. */
        char invocation_id[33];
};

/* Starts unit ("replace" mode) unless it is already active. The JobRemoved signal is
 * subscribed before StartUnit, so a job that ends at once is still seen; then waits
 * for it on the bus (no polling) unless no_block, for at most timeout_ms (< 0: as long
 * as it takes). Returns 0 with *res filled (a failed job is a result, not an error),
 * or a negative errno for a bus failure, with err saying why. */
int unit_start(const char *unit, bool no_block, long long timeout_ms, struct unit_start_result *res,
               struct vl_error *err);

/* The last max_lines messages unit logged in the invocation invocation_id ("": any),
 * oldest first, control characters replaced by '?'. Returns 0 (lines may be empty)
 * or a negative errno (journal not readable by this user). */
int unit_journal_tail(const char *unit, const char *invocation_id, size_t max_lines,
                      struct vl_strv *lines, struct vl_error *err);
