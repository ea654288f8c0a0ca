/* The life of one VM run, in order:
 *
 *   lock the run dir -> check the host (nothing changed yet) -> prepare the host
 *   (journaled) -> spawn QEMU paused -> pin its threads -> cont -> supervise until
 *   QEMU is gone -> restore the host
 *
 * Every stage logs one line per thing it does (runlog.h); the state file in the run
 * dir follows it for `status` and `stop`, and systemd hears READY/STOPPING/STATUS. */
#pragma once

#include "vmdefs/vmdef.h"

/* Runs def to its end and returns vmlaunch's exit code (util/exit_codes.h). */
int run_vm(struct vm_def *def);
