/* The test seams of a build configured with -Dtest-seams=true (see test_seams.h): the
 * environment may point vmlaunch at a fixture tree and inject failures. Under a fixture
 * root the operations that would reach past the tree (systemd, libkmod, pidfds of real
 * processes) are replaced by ones the tree can answer. */
#include "hostprep/test_seams.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/hostprep.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"

const char *test_seams_sysroot(void)
{
        return getenv("VMLAUNCH_SYSROOT");
}

/* Like sysroot_set: unset, "" and "/" all mean the real root. */
static bool fixture_root(void)
{
        const char *root = test_seams_sysroot();
        return root && root[strspn(root, "/")] != '\0';
}

/* A fixture tree has no systemd: every unit is missing, so nothing is stopped. */
static int fixture_unit_query(void *userdata, const char *unit, enum hostprep_unit_state *state,
                              char **id, struct vl_error *err)
{
        (void)userdata;
        (void)unit;
        (void)err;
        *state = HOSTPREP_UNIT_MISSING;
        *id = NULL;
        return 0;
}

static int fixture_unit_job(const char *verb, const char *unit, struct vl_error *err)
{
        return vl_error_set(
                err, EPERM,
                "cannot %s %s: VMLAUNCH_SYSROOT points at a fixture tree, which has no systemd",
                verb, unit);
}

static int fixture_unit_stop(void *userdata, const char *unit, unsigned timeout_ms,
                             struct vl_error *err)
{
        (void)userdata;
        (void)timeout_ms;
        return fixture_unit_job("stop", unit, err);
}

static int fixture_unit_start(void *userdata, const char *unit, unsigned timeout_ms,
                              struct vl_error *err)
{
        (void)userdata;
        (void)timeout_ms;
        return fixture_unit_job("start", unit, err);
}

static int fixture_get_allowed_cpus(void *userdata, const char *unit, char **cpus,
                                    struct vl_error *err)
{
        (void)userdata;
        *cpus = NULL;
        return fixture_unit_job("read AllowedCPUs of", unit, err);
}

static int fixture_set_allowed_cpus(void *userdata, const char *unit, const char *cpus,
                                    struct vl_error *err)
{
        (void)userdata;
        (void)cpus;
        return fixture_unit_job("set AllowedCPUs of", unit, err);
}

/* No display_session: logind would answer about this machine's users, not the tree's. */
static const struct hostprep_unit_ops fixture_units = {
        .query = fixture_unit_query,
        .stop = fixture_unit_stop,
        .start = fixture_unit_start,
        .get_allowed_cpus = fixture_get_allowed_cpus,
        .set_allowed_cpus = fixture_set_allowed_cpus,
};

static int fixture_module_refuse(const char *verb, const char *module, struct vl_error *err)
{
        return vl_error_set(
                err, EPERM,
                "cannot %s module %s: VMLAUNCH_SYSROOT points at a fixture tree; real modules are never touched from one",
                verb, module);
}

static int fixture_module_remove(void *userdata, const char *module, unsigned timeout_ms,
                                 struct vl_error *err)
{
        (void)userdata;
        (void)timeout_ms;
        return fixture_module_refuse("remove", module, err);
}

static int fixture_module_insert(void *userdata, const char *module, struct vl_error *err)
{
        (void)userdata;
        return fixture_module_refuse("load", module, err);
}

static const struct hostprep_module_ops fixture_modules = {
        .remove = fixture_module_remove,
        .insert = fixture_module_insert,
};

/* A fixture's /proc/PID has no process behind it to wait on: it has exited when it is
 * gone, so the answer comes at once. */
static int fixture_wait_exit(void *userdata, const int *pids, size_t n, uint64_t deadline_ms,
                             bool *exited, struct vl_error *err)
{
        (void)userdata;
        (void)deadline_ms;
        (void)err;
        for (size_t i = 0; i < n; i++) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d", pids[i]);
                exited[i] = !sysroot_exists(path);
        }
        return 0;
}

static const struct hostprep_process_ops fixture_processes = {.wait_exit = fixture_wait_exit};

void test_seams_fill(struct hostprep_ctx *ctx)
{
        if (fixture_root()) {
                if (!ctx->units)
                        ctx->units = &fixture_units;
                if (!ctx->modules)
                        ctx->modules = &fixture_modules;
                if (!ctx->processes)
                        ctx->processes = &fixture_processes;
        }
        if (!ctx->fail_step)
                step_fail_point_parse(getenv("VMLAUNCH_FAIL_STEP"), &ctx->fail_step,
                                      &ctx->fail_record);
        if (!ctx->fail_undo)
                ctx->fail_undo = step_index(getenv("VMLAUNCH_FAIL_UNDO"));
        if (!ctx->kill_step)
                step_fail_point_parse(getenv("VMLAUNCH_KILL_BEFORE_RECORD"), &ctx->kill_step,
                                      &ctx->kill_record);
}
