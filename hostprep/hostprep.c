/* The engine: runs the step table for plan, check, prepare and restore. */
#include "hostprep/hostprep.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "hostprep/gpu_lost.h"
#include "hostprep/holders.h"
#include "hostprep/steps.h"
#include "util/stop_signal.h"
#include "hostprep/journal.h"
#include "hostprep/test_seams.h"
#include "util/cleanup.h"
#include "util/strv.h"
#include "vmdefs/vmdef.h"

extern const struct hostprep_unit_ops hostprep_systemd_units;
extern const struct hostprep_module_ops hostprep_kmod_modules;

void step_log(struct hostprep_ctx *ctx, int priority, const char *fmt, ...)
{
        if (!ctx->opts || !ctx->opts->log)
                return;
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        ctx->opts->log(ctx->opts->log_userdata, priority, line);
}

int plan_add(struct hostprep_plan *plan, const char *step, const char *fmt, ...)
{
        struct hostprep_plan_item *more = realloc(plan->items, (plan->count + 1) * sizeof(*more));
        if (!more)
                return -ENOMEM;
        plan->items = more;
        struct hostprep_plan_item *item = &plan->items[plan->count];
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&item->description, fmt, ap);
        va_end(ap);
        item->step = strdup(step);
        if (n < 0 || !item->step) {
                if (n >= 0)
                        free(item->description);
                free(item->step);
                return -ENOMEM;
        }
        plan->count++;
        return 0;
}

void hostprep_plan_free(struct hostprep_plan *plan)
{
        for (size_t i = 0; i < plan->count; i++) {
                free(plan->items[i].step);
                free(plan->items[i].description);
        }
        free(plan->items);
        *plan = (struct hostprep_plan){0};
}

void hostprep_report_free(struct hostprep_report *report)
{
        for (size_t i = 0; i < report->n_failures; i++)
                free(report->failures[i]);
        free(report->failures);
        *report = (struct hostprep_report){0};
}

static void report_add(struct hostprep_report *report, const char *fmt, ...)
{
        char *line = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&line, fmt, ap);
        va_end(ap);
        char **more =
                n < 0 ? NULL : realloc(report->failures, (report->n_failures + 1) * sizeof(*more));
        if (!more) { /* out of memory: the count still tells the caller something failed */
                if (n >= 0)
                        free(line);
                return;
        }
        report->failures = more;
        report->failures[report->n_failures++] = line;
}

int step_journal(struct hostprep_ctx *ctx, const char *desc, const char *const *fields,
                 struct vl_error *err)
{
        /* desc first so a human reading the journal sees what each line is about */
        struct vl_strv all = {0};
        int r = vl_strv_push(&all, "desc");
        if (r == 0)
                r = vl_strv_push(&all, desc);
        for (size_t i = 0; r == 0 && fields && fields[i]; i++)
                r = vl_strv_push(&all, fields[i]);
        if (r < 0) {
                vl_strv_free(&all);
                return vl_error_set(err, -r, "journal record");
        }
        if (ctx->kill_step == ctx->current_index && ctx->step_records + 1 == ctx->kill_record)
                raise(SIGKILL); /* tests: a kill before this record; see kill_before_record */
        r = journal_append(ctx->journal, ctx->current->name, (const char *const *)all.items, err);
        vl_strv_free(&all);
        if (r < 0)
                return r;
        ctx->step_records++;
        if (ctx->fail_step == ctx->current_index && ctx->step_records == ctx->fail_record &&
            !ctx->fail_injected) {
                ctx->fail_injected = true;
                return vl_error_set(err, EIO,
                                    "injected failure before '%s', change %zu of the step", desc,
                                    ctx->step_records);
        }
        return 0;
}

/* "vfio: 0000:06:00.0 -> vfio-pci: ...": every apply error says which step failed. */
static void name_failed_step(struct vl_error *err, const char *step)
{
        size_t len = strlen(step);
        if (strncmp(err->msg, step, len) != 0 || err->msg[len] != ':')
                vl_error_prefix(err, "%s", step);
}

void step_fail_point_parse(const char *spec, size_t *step, size_t *record)
{
        *step = 0;
        *record = 1;
        if (!spec)
                return;
        char name[64];
        const char *colon = strchr(spec, ':');
        size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
        if (len >= sizeof(name))
                return;
        memcpy(name, spec, len);
        name[len] = '\0';
        if (colon) {
                char *end;
                errno = 0;
                unsigned long n = strtoul(colon + 1, &end, 10);
                if (errno || end == colon + 1 || *end || n == 0)
                        return;
                *record = n;
        }
        *step = step_index(name);
}

static void ctx_init(struct hostprep_ctx *ctx, const struct vm_def *def,
                     const struct hostprep_options *opts)
{
        *ctx = (struct hostprep_ctx){
                .def = def,
                .opts = opts,
                .units = opts->units,
                .modules = opts->modules,
                .processes = opts->processes,
                .timeout_ms = opts->timeout_ms ? opts->timeout_ms : 10000,
                .fail_undo = step_index(opts->fail_undo),
        };
        step_fail_point_parse(opts->fail_step, &ctx->fail_step, &ctx->fail_record);
        step_fail_point_parse(opts->kill_before_record, &ctx->kill_step, &ctx->kill_record);
        /* a no-op unless built with -Dtest-seams=true */
        test_seams_fill(ctx);
        if (!ctx->units)
                ctx->units = &hostprep_systemd_units;
        if (!ctx->modules)
                ctx->modules = &hostprep_kmod_modules;
        if (!ctx->processes)
                ctx->processes = &hostprep_pidfd_processes;
}

/* Inspects every step; states[i] belongs to hostprep_steps[i]. */
static int inspect_all(struct hostprep_ctx *ctx, void **states, struct vl_error *err)
{
        for (size_t i = 0; i < hostprep_n_steps; i++) {
                ctx->current = hostprep_steps[i];
                ctx->current_index = i + 1;
                int r = hostprep_steps[i]->inspect(ctx, &states[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void free_states(void **states)
{
        for (size_t i = 0; i < hostprep_n_steps; i++)
                if (states[i])
                        hostprep_steps[i]->free_state(states[i]);
        free(states);
}

const char *hostprep_step_name(size_t i)
{
        return i < hostprep_n_steps ? hostprep_steps[i]->name : NULL;
}

int hostprep_plan(const struct vm_def *def, const struct hostprep_options *opts,
                  struct hostprep_plan *plan, struct vl_error *err)
{
        *plan = (struct hostprep_plan){0};
        struct hostprep_ctx ctx;
        ctx_init(&ctx, def, opts);
        void **states = calloc(hostprep_n_steps, sizeof(*states));
        if (!states)
                return vl_error_set(err, ENOMEM, "plan");
        int r = inspect_all(&ctx, states, err);
        for (size_t i = 0; r == 0 && i < hostprep_n_steps; i++)
                if (states[i] && hostprep_steps[i]->describe(&ctx, states[i], plan) < 0)
                        r = vl_error_set(err, ENOMEM, "plan");
        free_states(states);
        if (r < 0)
                hostprep_plan_free(plan);
        return r;
}

int hostprep_check(const struct vm_def *def, const struct hostprep_options *opts,
                   struct hostprep_report *report, struct vl_error *err)
{
        *report = (struct hostprep_report){0};
        struct hostprep_ctx ctx;
        ctx_init(&ctx, def, opts);
        void **states = calloc(hostprep_n_steps, sizeof(*states));
        if (!states)
                return vl_error_set(err, ENOMEM, "check");
        int r = inspect_all(&ctx, states, err);
        struct vl_strv problems = {0};
        for (size_t i = 0; r == 0 && i < hostprep_n_steps; i++)
                if (states[i] && hostprep_steps[i]->problems)
                        r = hostprep_steps[i]->problems(states[i], &problems);
        free_states(states);
        for (size_t i = 0; i < problems.count; i++)
                report_add(report, "%s", problems.items[i]);
        vl_strv_free(&problems);
        if (r < 0)
                return r;
        if (report->n_failures)
                return vl_error_set(err, 0, "%s", report->failures[0]);
        return 0;
}

bool hostprep_journal_exists(const char *run_dir)
{
        return journal_exists(run_dir);
}

static void progress(struct hostprep_ctx *ctx, enum hostprep_progress what, const char *step,
                     const char *desc)
{
        if (ctx->opts && ctx->opts->progress)
                ctx->opts->progress(ctx->opts->log_userdata, what, step, desc);
}

static bool gpu_lost_here(const char *run_dir)
{
        struct hostprep_gpu_lost lost;
        bool stale;
        int r = hostprep_gpu_lost_read(run_dir, &lost, &stale);
        hostprep_gpu_lost_free(&lost);
        return r > 0;
}

static int undo_journal(struct hostprep_ctx *ctx, struct hostprep_report *report,
                        struct vl_error *err)
{
        const char *run_dir = ctx->opts->run_dir;
        struct journal_records recs;
        int r = journal_load(run_dir, &recs, err);
        if (r == -ENOENT) {
                report->nothing_to_restore = true;
                return 0;
        }
        if (r < 0)
                return r;
        if (recs.torn_tail)
                step_log(
                        ctx, LOG_WARNING,
                        "journal %s/%s ends in a torn record (vmlaunch died while writing it); that change was never started",
                        run_dir, JOURNAL_FILE);
        for (size_t i = recs.count; i-- > 0;) {
                const struct journal_record *rec = &recs.items[i];
                const char *desc = journal_record_get(rec, "desc");
                desc = desc ? desc : "(no description)";
                size_t k = step_index(rec->step);
                if (!k || strcmp(hostprep_steps[k - 1]->name, rec->step) != 0) {
                        report_add(report, "%s: %s: this vmlaunch has no step '%s'", rec->step,
                                   desc, rec->step);
                        continue;
                }
                if (k == ctx->fail_undo) {
                        ctx->undo_failed |= 1UL << (k - 1);
                        report_add(report, "%s: could not %s: injected failure", rec->step, desc);
                        progress(ctx, HOSTPREP_UNDO_FAILED, rec->step, desc);
                        continue;
                }
                ctx->current = hostprep_steps[k - 1];
                ctx->current_index = k;
                struct vl_error undo_err = {0};
                if (hostprep_steps[k - 1]->undo(ctx, rec, &undo_err) < 0) {
                        ctx->undo_failed |= 1UL << (k - 1);
                        report_add(report, "%s: could not %s: %s", rec->step, desc, undo_err.msg);
                        step_log(ctx, LOG_ERR, "could not %s: %s", desc, undo_err.msg);
                        progress(ctx, HOSTPREP_UNDO_FAILED, rec->step, desc);
                } else {
                        report->n_undone++;
                        progress(ctx, HOSTPREP_CHANGE_UNDONE, rec->step, desc);
                }
        }
        journal_records_free(&recs);
        if (report->n_failures && gpu_lost_here(run_dir)) {
                /* What the lost GPU took with it (its console, its framebuffer, a unit
                 * that needs it) cannot come back before the reboot the GPU needs, and
                 * that reboot resets every change vmlaunch makes: a journal kept for
                 * `restore` would only fail again. */
                vl_error_set(
                        err, 0,
                        "%zu change(s) could not be undone while the GPU is lost (above); the host reboot it needs resets them",
                        report->n_failures);
                struct vl_error rm_err = {0};
                journal_remove(run_dir, &rm_err);
                return -EIO;
        }
        if (report->n_failures) {
                report->journal_kept = true;
                vl_error_set(
                        err, 0,
                        "%zu change(s) could not be undone; the journal stays in %s: fix the cause and run `vmlaunch restore` again",
                        report->n_failures, run_dir);
                return -EIO;
        }
        return journal_remove(run_dir, err);
}

int hostprep_restore(const struct hostprep_options *opts, struct hostprep_report *report,
                     struct vl_error *err)
{
        *report = (struct hostprep_report){0};
        if (!opts->run_dir)
                return vl_error_set(err, EINVAL, "restore: no runtime directory given");
        struct hostprep_ctx ctx;
        ctx_init(&ctx, NULL, opts);
        return undo_journal(&ctx, report, err);
}

static int make_run_dir(const char *dir, struct vl_error *err)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s", dir);
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        return vl_error_set(err, errno, "create %s", path);
                *p = '/';
        }
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return vl_error_set(err, errno, "create %s", path);
        return 0;
}

int hostprep_prepare(const struct vm_def *def, const struct hostprep_options *opts,
                     struct hostprep_report *report, struct vl_error *err)
{
        *report = (struct hostprep_report){0};
        if (!opts->run_dir)
                return vl_error_set(err, EINVAL, "prepare: no runtime directory given");
        if (journal_exists(opts->run_dir))
                return vl_error_set(
                        err, EBUSY,
                        "a journal from an earlier run of %s is in %s: the host may still be prepared; run `vmlaunch restore %s` first",
                        def->name, opts->run_dir, def->name);
        struct hostprep_ctx ctx;
        ctx_init(&ctx, def, opts);
        void **states = calloc(hostprep_n_steps, sizeof(*states));
        if (!states)
                return vl_error_set(err, ENOMEM, "prepare");
        int r = inspect_all(&ctx, states, err); /* reads only: nothing to undo on failure */
        if (r == 0)
                r = make_run_dir(opts->run_dir, err);
        if (r == 0)
                r = journal_create(opts->run_dir, def->name, &ctx.journal, err);
        if (r < 0) {
                free_states(states);
                return r;
        }
        for (size_t i = 0; i < hostprep_n_steps; i++) {
                ctx.current = hostprep_steps[i];
                ctx.current_index = i + 1;
                ctx.step_records = 0;
                if (states[i]) {
                        progress(&ctx, HOSTPREP_STEP_BEGIN, hostprep_steps[i]->name, NULL);
                        r = hostprep_steps[i]->apply(&ctx, states[i], err);
                        if (r == 0)
                                progress(&ctx, HOSTPREP_STEP_DONE, hostprep_steps[i]->name, NULL);
                }
                if (r == 0 && ctx.fail_step == i + 1 && !ctx.fail_injected) {
                        /* fewer records than n: fail once the step made all its changes */
                        ctx.fail_injected = true;
                        r = vl_error_set(err, EIO,
                                         "injected failure after the step's %zu change(s)",
                                         ctx.step_records);
                }
                /* Ctrl-C: nothing more is changed, and QEMU is not started */
                if (r == 0 && opts->stop_on_signal && vl_stop_signal_pending())
                        r = vl_error_set_plain(err, ECANCELED, "asked to stop after the %s step",
                                               hostprep_steps[i]->name);
                else if (r < 0)
                        name_failed_step(err, hostprep_steps[i]->name);
                if (r < 0 || ctx.opts->crash_after_step == i + 1)
                        break;
        }
        journal_close(ctx.journal);
        ctx.journal = NULL;
        free_states(states);
        if (r == 0)
                return 0;
        step_log(&ctx, r == -ECANCELED ? LOG_NOTICE : LOG_ERR, "%s; rolling back", err->msg);
        struct vl_error undo_err = {0};
        undo_journal(&ctx, report, &undo_err);
        return r;
}
