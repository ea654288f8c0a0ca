/* The step table: each host change is one step with inspect, describe, apply, undo.
 *
 * inspect reads the host into a private state (pure reads; used by plan and prepare).
 * describe adds one plan line per change. apply makes the changes, calling
 * step_journal() before each one. undo reverses one journal record, knowing nothing
 * but the record and the host (it runs in a fresh process after a crash), so it must
 * be idempotent. Adding a step = one step_NAME.c and one line in steps.c. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "hostprep/hostprep.h"
#include "hostprep/journal.h"
#include "util/strv.h"

struct hostprep_step;

struct hostprep_ctx {
        const struct vm_def *def; /* NULL while restoring */
        const struct hostprep_options *opts;
        const struct hostprep_unit_ops *units;
        const struct hostprep_module_ops *modules;
        const struct hostprep_process_ops *processes;
        unsigned timeout_ms;
        struct journal *journal; /* while preparing */
        const struct hostprep_step *current;
        size_t current_index; /* 1-based */
        size_t fail_step;     /* hostprep_options.fail_step "k[:n]": k, 0: off */
        size_t fail_record;   /* n: fail before the step's n-th journal record */
        size_t step_records;  /* journal records of the current step so far */
        bool fail_injected;
        size_t kill_step, kill_record; /* hostprep_options.kill_before_record, 0: off */
        size_t fail_undo;              /* hostprep_options.fail_undo: j, 0: off */
        unsigned long undo_failed;     /* while restoring: bit k-1 when step k's undo failed */
};

struct hostprep_step {
        const char *name;
        int (*inspect)(struct hostprep_ctx *ctx, void **state, struct vl_error *err);
        int (*describe)(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan);
        int (*apply)(struct hostprep_ctx *ctx, void *state, struct vl_error *err);
        int (*undo)(struct hostprep_ctx *ctx, const struct journal_record *rec,
                    struct vl_error *err);
        void (*free_state)(void *state);
        /* Optional: what would make apply fail, found by inspect (for `check`). */
        int (*problems)(const void *state, struct vl_strv *out);
};

extern const struct hostprep_step *const hostprep_steps[];
extern const size_t hostprep_n_steps;

/* Whether an undo of the step named `name` failed earlier in this restore. */
bool step_undo_failed(const struct hostprep_ctx *ctx, const char *name);

/* Looks a step up by name or 1-based number ("3", "governor"). 0 when unknown. */
size_t step_index(const char *name_or_number);
/* Parses a failure point "k|name[:n]" into step k (0: off) and record n (default 1);
 * a malformed n turns it off like an unknown k. */
void step_fail_point_parse(const char *spec, size_t *step, size_t *record);

/* Journals the undo record of the change about to be made by the current step.
 * desc says, for reports, what undoing it does ("rebind vtcon1"). fields: key, value,
 * ..., NULL. Fault injection (hostprep_options.fail_step) fails here, after the append. */
int step_journal(struct hostprep_ctx *ctx, const char *desc, const char *const *fields,
                 struct vl_error *err);
void step_log(struct hostprep_ctx *ctx, int priority, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int plan_add(struct hostprep_plan *plan, const char *step, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Host CPUs of vCPU, emulator and iothread pins, sorted and unique (malloc'd). */
int pinned_cpus(const struct vm_def *def, unsigned **cpus, size_t *n);

extern const struct hostprep_step step_checks, step_hugepages, step_governor, step_isolation,
        step_units, step_vtconsoles, step_framebuffer, step_modules, step_vfio, step_reset_method,
        step_gpu_health, step_hooks, step_handover;
