/* User hooks in the layout of the libvirt hook helper:
 *   HOOKS_DIR/NAME/prepare/begin/    before QEMU starts (prepare step, before the hand-over)
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "util/poll_extra.h"
#include "util/clock.h"
#include "util/pidfd.h"
#include "util/stop_signal.h"
#include "util/trusted_path.h"
#include "vmdefs/vmdef.h"

#define DEFAULT_HOOKS_DIR "/etc/vmlaunch/hooks"

/* Root runs them: the hooks dir, the VM's, every stage dir and every hook (and the
 * directories above them, up to /) must be owned by root and writable by no one else
 * (util/trusted_path.h), and a hook must be given by its real path, not a symlink. */
struct hook_list {
        struct vl_strv paths;
        int *fds; /* O_PATH of each, for execveat: what was checked is what runs */
};

static void hook_list_free(struct hook_list *l)
{
        for (size_t i = 0; i < l->paths.count; i++)
                if (l->fds[i] >= 0)
                        close(l->fds[i]);
        free(l->fds);
        vl_strv_free(&l->paths);
}

/* One entry of a checked stage dir: a trusted executable to run (1), something not to
 * run (0: a directory, a file without x), or a refusal. */
static int check_entry(int stage_fd, const char *path, const char *name, int *fd,
                       struct vl_error *err)
{
        *fd = openat(stage_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (*fd < 0 || fstat(*fd, &st) < 0)
                return vl_error_set(err, errno, "hook %s", path);
        int r = 0;
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(*fd, "", target, sizeof(target) - 1);
                target[n > 0 ? n : 0] = '\0';
                r = vl_error_set_plain(
                        err, EPERM,
                        "hook %s is a symlink (to %s); root runs hooks only by their real path: give the real path instead of the symlink (put the program itself there)",
                        path, target);
        } else if (S_ISREG(st.st_mode) && !vl_trusted_stat(&st)) {
                r = vl_trust_refuse(path, &st, err);
                vl_error_prefix(err, "hook");
        } else if (S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
                return 1;
        }
        close(*fd);
        *fd = -1;
        return r;
}

/* The executables in DIR/STAGE, sorted by name (they are run in that order), each
 * checked and held open. A missing stage dir has none. */
static int list_hooks(const char *dir, const char *stage, struct hook_list *out,
                      struct vl_error *err)
{
        *out = (struct hook_list){0};
        char stage_dir[PATH_MAX / 2];
        snprintf(stage_dir, sizeof(stage_dir), "%s/%s", dir, stage);
        /* hooks live in the configuration, not under the system root */
        struct vl_trust_opts trust = {.mode = VL_TRUST_OWNED};
        struct vl_trusted sd;
        int r = vl_trusted_open(stage_dir, &trust, &sd, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return vl_error_prefix(err, "hooks");
        if (!S_ISDIR(sd.st.st_mode)) {
                close(sd.fd);
                return vl_error_set_plain(err, ENOTDIR, "hooks: %s is not a directory", stage_dir);
        }
        char via[64];
        snprintf(via, sizeof(via), "/proc/self/fd/%d", sd.fd);
        struct vl_strv names = {0};
        r = list_dir_sorted(via, &names);
        if (r < 0)
                r = vl_error_set(err, -r, "list hooks in %s", stage_dir);
        if (r == 0 && names.count && !(out->fds = calloc(names.count, sizeof(int))))
                r = vl_error_set(err, ENOMEM, "hooks");
        for (size_t i = 0; i < names.count && r == 0; i++) {
                char path[PATH_MAX];
                int fd = -1;
                snprintf(path, sizeof(path), "%s/%s", stage_dir, names.items[i]);
                r = check_entry(sd.fd, path, names.items[i], &fd, err);
                if (r > 0) {
                        out->fds[out->paths.count] = fd;
                        r = vl_strv_push(&out->paths, path);
                        if (r < 0) {
                                close(fd);
                                r = vl_error_set(err, ENOMEM, "hooks");
                        }
                }
        }
        vl_strv_free(&names);
        close(sd.fd);
        if (r < 0)
                hook_list_free(out);
        return r < 0 ? r : 0;
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
                int n = vl_poll(p, stop_fd >= 0 ? 2 : 1, left > INT_MAX ? INT_MAX : (int)left);
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

/* What a hook gets, whoever started vmlaunch: a fixed PATH and locale, and the VM and
 * stage it runs for; nothing of vmlaunch's own environment (no NOTIFY_SOCKET, no LD_*,
 * no user's variables). LANG is fixed, not inherited, so a hook behaves the same from a
 * terminal and from the unit. Documented in vmlaunch.ini(5), [hooks]. */
#define HOOK_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_LANG "LANG=C.UTF-8"

/* In the child, between fork and exec: only async-signal-safe calls. A hook starts
 * with default signal handling and nothing blocked, whatever vmlaunch blocks for its
 * signalfd, so SIGTERM ends it; in its own process group, so a timeout ends everything
 * it started; stdin /dev/null: in its own group a hook reading the terminal would stop
 * (SIGTTIN) until its timeout. It runs from the descriptor that was checked
 * (execveat); a script's interpreter reads it as /dev/fd/N, so for a script it stays
 * open across exec. */
static void hook_child(int fd, char **argv, char **env, int report_fd)
{
        static const int defaults[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD};
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
                signal(defaults[i], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0 && null != STDIN_FILENO) {
                dup2(null, STDIN_FILENO);
                close(null);
        }
        syscall(SYS_execveat, fd, "", argv, env, AT_EMPTY_PATH);
        if (errno == ENOENT) { /* a script: its interpreter opens /dev/fd/N, keep it open */
                fcntl(fd, F_SETFD, 0);
                syscall(SYS_execveat, fd, "", argv, env, AT_EMPTY_PATH);
        }
        int e = errno;
        ssize_t ignored = write(report_fd, &e, sizeof(e));
        (void)ignored;
        _exit(127);
}

/* Forks and execs the hook; returns its pid, or -errno when it could not be run. */
static pid_t spawn_hook(int fd, char **argv, char **env)
{
        int report[2];
        if (pipe2(report, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid == 0)
                hook_child(fd, argv, env, report[1]);
        close(report[1]);
        if (pid < 0) {
                close(report[0]);
                return -errno;
        }
        int e = 0;
        ssize_t n;
        while ((n = read(report[0], &e, sizeof(e))) < 0 && errno == EINTR)
                ;
        close(report[0]);
        if (n == (ssize_t)sizeof(e)) { /* exec failed: reap the child that reported it */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return -e;
        }
        return pid;
}

static int run_hook(const char *path, int fd, const char *vm, const char *stage, unsigned timeout_s,
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
        char *env[] = {HOOK_PATH, HOOK_LANG, env_vm, env_stage, NULL};
        char *argv[] = {(char *)path, (char *)vm, op, sub, "-", NULL};
        pid_t pid = spawn_hook(fd, argv, env);
        if (pid < 0)
                return vl_error_set(err, (int)-pid, "run hook %s", path);
        int status;
        enum hook_wait how;
        int r = reap_hook(pid, timeout_s, watch_stop, &status, &how);
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
        /* listed and checked again now: what runs is what is there at this moment */
        struct hook_list hooks;
        int r = list_hooks(dir, stage, &hooks, err);
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && i < hooks.paths.count; i++)
                r = run_hook(hooks.paths.items[i], hooks.fds[i], vm, stage, timeout_s, watch_stop,
                             err);
        hook_list_free(&hooks);
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

/* Checks the stage and keeps only the paths (for the plan): they are checked again,
 * and run from their descriptors, when the stage runs. */
static int stage_paths(const char *dir, const char *stage, struct vl_strv *out,
                       struct vl_error *err)
{
        struct hook_list l;
        int r = list_hooks(dir, stage, &l, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.paths.count; i++) {
                close(l.fds[i]);
                l.fds[i] = -1;
        }
        free(l.fds);
        *out = l.paths;
        return 0;
}

static const char *const hook_stages[] = {"prepare/begin", "started/begin", "release/end"};

int hostprep_check_hooks(const struct vm_def *def, struct vl_strv *problems)
{
        char dir[PATH_MAX / 4];
        vm_hooks_dir(def, dir, (int)sizeof(dir));
        for (size_t i = 0; i < sizeof(hook_stages) / sizeof(hook_stages[0]); i++) {
                struct vl_strv paths = {0};
                struct vl_error err = {0};
                int r = stage_paths(dir, hook_stages[i], &paths, &err);
                vl_strv_free(&paths);
                if (r == -ENOMEM)
                        return r;
                /* the same refusal for each stage below an untrusted dir is said once */
                if (r < 0 && !vl_strv_contains(problems, err.msg) &&
                    vl_strv_push(problems, err.msg) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int hooks_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        struct hooks_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "hooks");
        vm_hooks_dir(ctx->def, s->dir, (int)sizeof(s->dir));
        /* an untrusted hook fails here, before prepare changes anything */
        int r = stage_paths(s->dir, "prepare/begin", &s->prepare, err);
        if (r == 0)
                r = stage_paths(s->dir, "release/end", &s->release, err);
        if (r < 0 || (s->prepare.count == 0 && s->release.count == 0)) {
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
