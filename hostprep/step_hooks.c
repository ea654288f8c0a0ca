/* User hooks in the layout of the libvirt hook helper:
 *   HOOKS_DIR/NAME/prepare/begin/    before QEMU starts (last prepare step)
 *   HOOKS_DIR/NAME/started/begin/    after QEMU runs (hostprep_run_hooks, from `run`)
 *   HOOKS_DIR/NAME/release/end/      on restore
 * Each executable runs with argv NAME OPERATION SUB-OPERATION "-" (libvirt's order)
 * and VMLAUNCH_VM, VMLAUNCH_STAGE in the environment, in its own process group. A
 * failing prepare hook (non-zero exit, or still running after [hooks] timeout) fails
 * the step, which rolls back everything before it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "util/clock.h"
#include "util/pidfd.h"
#include "util/stop_signal.h"
#include "vmdefs/vmdef.h"

extern char **environ;

#define DEFAULT_HOOKS_DIR "/etc/vmlaunch/hooks"

/* Executables in DIR/STAGE, sorted by name (they are run in that order). */
static int list_hooks(const char *dir, const char *stage, struct vl_strv *out)
{
        *out = (struct vl_strv){0};
        char stage_dir[PATH_MAX / 2];
        snprintf(stage_dir, sizeof(stage_dir), "%s/%s", dir, stage);
        struct vl_strv names = {0};
        /* hooks live in the configuration, not under the system root */
        int r = list_dir_sorted(stage_dir, &names);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; i < names.count && r == 0; i++) {
                char path[PATH_MAX];
                struct stat st;
                snprintf(path, sizeof(path), "%s/%s", stage_dir, names.items[i]);
                if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
                        r = vl_strv_push(out, path);
        }
        vl_strv_free(&names);
        return r;
}

/* How long a hook gets to exit after SIGTERM before its process group is killed. */
#define HOOK_TERM_GRACE_MS 5000

enum hook_wait { HOOK_EXITED, HOOK_TIMED_OUT, HOOK_STOP_ASKED };

/* Waits for pid on its pidfd until deadline_ms, or until stop_fd (when >= 0) says
 * vmlaunch was asked to stop. */
static enum hook_wait wait_until_exit(pid_t pid, int pidfd, int stop_fd, int64_t deadline_ms)
{
        if (pidfd < 0) /* no pidfd (Linux < 5.3): wait without a deadline */
                return HOOK_EXITED;
        for (;;) {
                int64_t left = deadline_ms - vl_monotonic_ms();
                if (left <= 0)
                        return HOOK_TIMED_OUT;
                struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
                                      {.fd = stop_fd, .events = POLLIN}};
                int n = poll(p, stop_fd >= 0 ? 2 : 1, left > INT_MAX ? INT_MAX : (int)left);
                if (n > 0 && p[0].revents)
                        return HOOK_EXITED;
                if (n > 0)
                        return HOOK_STOP_ASKED;
                if (n < 0 && errno != EINTR) /* cannot wait: only a gone process ended */
                        return kill(pid, 0) < 0 ? HOOK_EXITED : HOOK_TIMED_OUT;
        }
}

/* Reaps the hook. Past timeout_s, or when vmlaunch is asked to stop (watch_stop), its
 * process group (the hook and whatever it started) gets SIGTERM, then SIGKILL, so a
 * hung hook cannot hang vmlaunch with the host half prepared. */
static int reap_hook(pid_t pid, unsigned timeout_s, bool watch_stop, int *status,
                     enum hook_wait *how)
{
        int pidfd = vl_pidfd_open(pid);
        int stop_fd = watch_stop ? vl_stop_signal_fd_open() : -1;
        *how = wait_until_exit(pid, pidfd, stop_fd, vl_monotonic_ms() + (int64_t)timeout_s * 1000);
        if (*how != HOOK_EXITED) {
                kill(-pid, SIGTERM);
                kill(-pid, SIGCONT); /* a stopped hook (SIGTTOU, SIGSTOP) gets its SIGTERM */
                if (wait_until_exit(pid, pidfd, -1, vl_monotonic_ms() + HOOK_TERM_GRACE_MS) !=
                    HOOK_EXITED)
                        kill(-pid, SIGKILL);
        }
        if (stop_fd >= 0)
                close(stop_fd);
        if (pidfd >= 0)
                close(pidfd);
        while (waitpid(pid, status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (*how != HOOK_EXITED) /* the hook is gone; what it left in its group goes too */
                kill(-pid, SIGKILL);
        return 0;
}

/* A hook starts with default signal handling and nothing blocked, whatever vmlaunch
 * blocks for its signalfd, so SIGTERM ends it. */
static void hook_spawn_attrs(posix_spawnattr_t *attr)
{
        sigset_t none, defaults;
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGHUP);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGCHLD);
        posix_spawnattr_init(attr);
        /* its own process group, so a timeout ends everything the hook started */
        posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(attr, 0);
        posix_spawnattr_setsigmask(attr, &none);
        posix_spawnattr_setsigdefault(attr, &defaults);
}

static int run_hook(const char *path, const char *vm, const char *stage, unsigned timeout_s,
                    bool watch_stop, struct vl_error *err)
{
        char op[64], sub[64], env_vm[512], env_stage[128];
        snprintf(op, sizeof(op), "%s", stage);
        char *slash = strchr(op, '/');
        snprintf(sub, sizeof(sub), "%s", slash ? slash + 1 : "-");
        if (slash)
                *slash = '\0';
        snprintf(env_vm, sizeof(env_vm), "VMLAUNCH_VM=%s", vm);
        snprintf(env_stage, sizeof(env_stage), "VMLAUNCH_STAGE=%s", stage);
        struct vl_strv env = {0};
        int r = 0;
        for (char **e = environ; e && *e && r == 0; e++)
                if (strncmp(*e, "VMLAUNCH_VM=", 12) && strncmp(*e, "VMLAUNCH_STAGE=", 15))
                        r = vl_strv_push(&env, *e);
        if (r == 0)
                r = vl_strv_push(&env, env_vm);
        if (r == 0)
                r = vl_strv_push(&env, env_stage);
        if (r < 0) {
                vl_strv_free(&env);
                return vl_error_set(err, ENOMEM, "hook %s", path);
        }
        posix_spawnattr_t attr;
        hook_spawn_attrs(&attr);
        /* stdin /dev/null: in its own process group a hook reading the terminal would
         * stop (SIGTTIN) until its timeout; vmlaunch may run with no terminal anyway */
        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        char *argv[] = {(char *)path, (char *)vm, op, sub, "-", NULL};
        pid_t pid;
        r = posix_spawn(&pid, path, &files, &attr, argv, env.items);
        posix_spawn_file_actions_destroy(&files);
        posix_spawnattr_destroy(&attr);
        vl_strv_free(&env);
        if (r != 0)
                return vl_error_set(err, r, "run hook %s", path);
        int status;
        enum hook_wait how;
        r = reap_hook(pid, timeout_s, watch_stop, &status, &how);
        if (r < 0)
                return vl_error_set(err, -r, "wait for hook %s", path);
        if (how == HOOK_STOP_ASKED)
                return vl_error_set_plain(err, ECANCELED,
                                          "hook %s (%s) was ended: vmlaunch was asked to stop",
                                          path, stage);
        if (how == HOOK_TIMED_OUT)
                return vl_error_set_plain(
                        err, ETIMEDOUT,
                        "hook %s (%s) did not finish within %u s ([hooks] timeout) and was killed",
                        path, stage, timeout_s);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return vl_error_set(err, EIO, "hook %s (%s) exited with status %d", path, stage,
                                    WEXITSTATUS(status));
        return vl_error_set(err, EIO, "hook %s (%s) was killed by signal %d", path, stage,
                            WTERMSIG(status));
}

static int run_stage(const char *dir, const char *vm, const char *stage, unsigned timeout_s,
                     bool watch_stop, struct vl_error *err)
{
        struct vl_strv hooks;
        int r = list_hooks(dir, stage, &hooks);
        if (r < 0)
                return vl_error_set(err, -r, "list hooks in %s/%s", dir, stage);
        for (size_t i = 0; i < hooks.count && r == 0; i++)
                r = run_hook(hooks.items[i], vm, stage, timeout_s, watch_stop, err);
        vl_strv_free(&hooks);
        return r;
}

static void vm_hooks_dir(const struct vm_def *def, char *buf, int len)
{
        snprintf(buf, (size_t)len, "%s/%s", def->hooks_dir ? def->hooks_dir : DEFAULT_HOOKS_DIR,
                 def->name);
}

int hostprep_run_hooks(const struct vm_def *def, const char *stage, struct vl_error *err)
{
        char dir[PATH_MAX / 4];
        vm_hooks_dir(def, dir, (int)sizeof(dir));
        return run_stage(dir, def->name, stage, def->hooks_timeout_s, true, err);
}

struct hooks_state {
        char dir[PATH_MAX / 4];
        struct vl_strv prepare, release;
};

static int hooks_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        struct hooks_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "hooks");
        vm_hooks_dir(ctx->def, s->dir, (int)sizeof(s->dir));
        int r = list_hooks(s->dir, "prepare/begin", &s->prepare);
        if (r == 0)
                r = list_hooks(s->dir, "release/end", &s->release);
        if (r < 0 || (s->prepare.count == 0 && s->release.count == 0)) {
                if (r < 0)
                        vl_error_set(err, -r, "hooks in %s", s->dir);
                vl_strv_free(&s->prepare);
                vl_strv_free(&s->release);
                free(s);
                return r;
        }
        *state = s;
        return 0;
}

static int hooks_describe(struct hostprep_ctx *ctx, const void *state, struct hostprep_plan *plan)
{
        (void)ctx;
        const struct hooks_state *s = state;
        for (size_t i = 0; i < s->prepare.count; i++)
                if (plan_add(plan, "hooks", "run hook %s", s->prepare.items[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->release.count; i++)
                if (plan_add(plan, "hooks", "on restore, run hook %s", s->release.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int hooks_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct hooks_state *s = state;
        char desc[PATH_MAX + 64], timeout[16];
        snprintf(desc, sizeof(desc), "run the release/end hooks in %s", s->dir);
        snprintf(timeout, sizeof(timeout), "%u", ctx->def->hooks_timeout_s);
        int r = step_journal(ctx, desc,
                             (const char *const[]){"dir", s->dir, "vm", ctx->def->name, "timeout",
                                                   timeout, NULL},
                             err);
        if (r == 0)
                r = run_stage(s->dir, ctx->def->name, "prepare/begin", ctx->def->hooks_timeout_s,
                              ctx->opts->stop_on_signal, err);
        if (r == 0 && s->prepare.count)
                step_log(ctx, LOG_INFO, "ran %zu prepare/begin hook(s) from %s", s->prepare.count,
                         s->dir);
        return r;
}

static int hooks_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                      struct vl_error *err)
{
        const char *dir = journal_record_get(rec, "dir");
        const char *vm = journal_record_get(rec, "vm");
        if (!dir || !vm)
                return vl_error_set(err, EINVAL, "hooks record without dir/vm");
        /* journals written before the timeout existed have none: the default */
        const char *timeout = journal_record_get(rec, "timeout");
        unsigned long timeout_s = timeout ? strtoul(timeout, NULL, 10) : 0;
        if (timeout_s == 0 || timeout_s > 3600)
                timeout_s = 120;
        /* a restore runs to the end, whatever signal comes */
        int r = run_stage(dir, vm, "release/end", (unsigned)timeout_s, false, err);
        if (r == 0)
                step_log(ctx, LOG_INFO, "ran the release/end hooks in %s", dir);
        return r;
}

static void hooks_free(void *state)
{
        struct hooks_state *s = state;
        vl_strv_free(&s->prepare);
        vl_strv_free(&s->release);
        free(s);
}

const struct hostprep_step step_hooks = {
        .name = "hooks",
        .inspect = hooks_inspect,
        .describe = hooks_describe,
        .apply = hooks_apply,
        .undo = hooks_undo,
        .free_state = hooks_free,
};
