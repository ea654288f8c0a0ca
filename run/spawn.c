#include "run/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/clock.h"
#include "util/macro.h"
#include "util/pidfd.h"

extern char **environ;

#define GIB (1024ULL * 1024 * 1024)

/* What the child was doing when it failed, sent to the parent over a pipe that
 * exec closes (O_CLOEXEC): EOF on it means execve succeeded. */
enum child_step {
        CHILD_SIGNALS,
        CHILD_PGID,
        CHILD_DEATHSIG,
        CHILD_MEMLOCK,
        CHILD_AFFINITY,
        CHILD_BOUNDING_SET,
        CHILD_GROUPS,
        CHILD_UID,
        CHILD_CAPABILITIES,
        CHILD_NO_NEW_PRIVS,
        CHILD_STDIO,
        CHILD_PASS_FDS,
        CHILD_CLOSE_FDS,
        CHILD_EXEC
};

struct child_failure {
        int step;
        int errnum;
};

/* Everything the child needs, prepared before fork: the child only makes
 * async-signal-safe calls. */
struct child_plan {
        const char *path;
        char *const *argv;
        pid_t parent;
        bool set_affinity;
        cpu_set_t affinity;
        bool set_memlock;
        struct rlimit memlock;
        int stdin_fd, stdout_fd, stderr_fd;
        int report_fd;
        int go_fd;       /* -1, or read one byte before the affinity: the parent is done */
        int go_write_fd; /* the parent's end, closed in the child so EOF can come */
        const struct vl_account *user; /* NULL: stay root */
        cap_t no_caps;                 /* an empty set, made before fork (libcap allocates) */
        char *const *envp;
        const int *pass_fds;
        size_t n_pass_fds;
};

static _Noreturn void child_fail(int report_fd, enum child_step step, int errnum)
{
        struct child_failure f = {.step = step, .errnum = errnum};
        ssize_t n = write(report_fd, &f, sizeof(f));
        (void)n;
        _exit(127);
}

/* dup2 onto `to`, or clear close-on-exec when the descriptor is already there. */
static int child_move_fd(int from, int to)
{
        if (from == to)
                return fcntl(to, F_SETFD, 0);
        return dup2(from, to) < 0 ? -1 : 0;
}

static int child_close_from(unsigned first)
{
        if (close_range(first, ~0U, 0) == 0)
                return 0;
        if (errno != ENOSYS)
                return -1;
        /* Kernels before 5.9. */
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = first; fd < max; fd++)
                close((int)fd);
        return 0;
}

/* Root -> the QEMU user, keeping nothing: the bounding set emptied while we still
 * may (CAP_SETPCAP), ambient cleared, its own groups, uid and gid, then every
 * capability set empty and no_new_privs, so no setuid or file-capability binary
 * can give anything back. */
static void child_become_user(const struct child_plan *p)
{
        int report = p->report_fd;
        for (cap_value_t c = 0; CAP_IS_SUPPORTED(c); c++)
                if (cap_drop_bound(c) < 0)
                        child_fail(report, CHILD_BOUNDING_SET, errno);
        if (cap_reset_ambient() < 0)
                child_fail(report, CHILD_CAPABILITIES, errno);
        if (setgroups(p->user->n_groups, p->user->groups) < 0 ||
            setresgid(p->user->gid, p->user->gid, p->user->gid) < 0)
                child_fail(report, CHILD_GROUPS, errno);
        if (setresuid(p->user->uid, p->user->uid, p->user->uid) < 0)
                child_fail(report, CHILD_UID, errno);
        if (cap_set_proc(p->no_caps) < 0)
                child_fail(report, CHILD_CAPABILITIES, errno);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_fail(report, CHILD_NO_NEW_PRIVS, errno);
}

static _Noreturn void child_exec(const struct child_plan *p)
{
        int report = p->report_fd;
        sigset_t none;
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
                child_fail(report, CHILD_SIGNALS, errno);
        /* Handlers are reset by exec, but ignored signals stay ignored. */
        static const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        for (size_t i = 0; i < ELEMENTSOF(reset); i++)
                sigaction(reset[i], &dfl, NULL);

        /* Its own process group: Ctrl-C at the terminal reaches only vmlaunch,
         * which then shuts the guest down properly. */
        if (setpgid(0, 0) < 0)
                child_fail(report, CHILD_PGID, errno);
        /* Already here, so a vmlaunch killed while the child waits takes it along. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                child_fail(report, CHILD_DEATHSIG, errno);
        if (getppid() != p->parent)
                _exit(127);
        if (p->go_fd >= 0) {
                close(p->go_write_fd);
                char go;
                ssize_t n;
                do
                        n = read(p->go_fd, &go, 1);
                while (n < 0 && errno == EINTR);
                if (n != 1) /* the parent gave up: it reports why */
                        _exit(127);
        }
        if (p->set_memlock && setrlimit(RLIMIT_MEMLOCK, &p->memlock) < 0)
                child_fail(report, CHILD_MEMLOCK, errno);
        /* Every thread QEMU creates inherits this; vCPUs and iothreads are
         * re-pinned over QMP before the guest runs. */
        if (p->set_affinity && sched_setaffinity(0, sizeof(p->affinity), &p->affinity) < 0)
                child_fail(report, CHILD_AFFINITY, errno);

        if (p->user)
                child_become_user(p);
        /* Set after the uid change: changing credentials clears it. If vmlaunch is
         * killed outright, QEMU quits (SIGTERM makes it flush and exit like `quit`)
         * instead of holding the GPU unsupervised. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                child_fail(report, CHILD_DEATHSIG, errno);
        if (getppid() != p->parent)
                _exit(127);

        umask(0077);
        if (child_move_fd(p->stdin_fd, 0) < 0 || child_move_fd(p->stdout_fd, 1) < 0 ||
            child_move_fd(p->stderr_fd, 2) < 0)
                child_fail(report, CHILD_STDIO, errno);
        /* Out of the way of 3..3+n first: passed descriptors may sit there. */
        int first_free = 3 + (int)p->n_pass_fds;
        report = fcntl(report, F_DUPFD_CLOEXEC, first_free);
        if (report < 0)
                child_fail(p->report_fd, CHILD_STDIO, errno);
        int high[SPAWN_PASS_FDS_MAX];
        for (size_t i = 0; i < p->n_pass_fds; i++) {
                high[i] = p->pass_fds[i] < 0 ? -1
                                             : fcntl(p->pass_fds[i], F_DUPFD_CLOEXEC, first_free);
                if (high[i] < 0 && p->pass_fds[i] >= 0)
                        child_fail(report, CHILD_PASS_FDS, errno);
        }
        for (size_t i = 0; i < p->n_pass_fds; i++)
                if (high[i] >= 0 && dup2(high[i], 3 + (int)i) < 0) /* leaves close-on-exec off */
                        child_fail(report, CHILD_PASS_FDS, errno);
        if (report != first_free) {
                if (dup3(report, first_free, O_CLOEXEC) < 0)
                        child_fail(report, CHILD_STDIO, errno);
                report = first_free;
        }
        if (child_close_from((unsigned)first_free + 1) < 0)
                child_fail(report, CHILD_CLOSE_FDS, errno);

        execve(p->path, p->argv, p->envp ? p->envp : environ);
        child_fail(report, CHILD_EXEC, errno);
}

static int child_failure_error(const struct child_failure *f, const struct child_plan *p,
                               const struct spawn_request *req, struct vl_error *err)
{
        char cpus[256];
        switch (f->step) {
        case CHILD_MEMLOCK:
                return vl_error_set(
                        err, f->errnum,
                        "raise RLIMIT_MEMLOCK to %llu MiB so VFIO can lock the guest's RAM (needs root or CAP_SYS_RESOURCE; under systemd set LimitMEMLOCK=)",
                        (unsigned long long)(req->memlock_bytes >> 20));
        case CHILD_AFFINITY:
                vmdef_cpulist_format(req->affinity->cpus, req->affinity->count, cpus, sizeof(cpus));
                return vl_error_set(
                        err, f->errnum,
                        "set QEMU's affinity to the emulator CPUs %s (are they online and inside vmlaunch's cpuset?)",
                        cpus);
        case CHILD_EXEC:
                return vl_error_set(err, f->errnum, "execute %s", p->path);
        case CHILD_BOUNDING_SET:
        case CHILD_CAPABILITIES:
                return vl_error_set(err, f->errnum, "drop QEMU's capabilities");
        case CHILD_GROUPS:
                return vl_error_set(err, f->errnum, "set QEMU's groups to those of user %s",
                                    req->user->name);
        case CHILD_UID:
                return vl_error_set(err, f->errnum, "run QEMU as user %s (uid %u)", req->user->name,
                                    (unsigned)req->user->uid);
        case CHILD_NO_NEW_PRIVS:
                return vl_error_set(err, f->errnum, "set no_new_privs for QEMU");
        case CHILD_PASS_FDS:
                return vl_error_set(err, f->errnum, "pass QEMU its sockets");
        case CHILD_PGID:
                return vl_error_set(err, f->errnum, "give QEMU its own process group");
        case CHILD_DEATHSIG:
                return vl_error_set(err, f->errnum, "set QEMU's parent-death signal");
        case CHILD_STDIO:
                return vl_error_set(err, f->errnum, "set up QEMU's stdin/stdout/stderr");
        case CHILD_CLOSE_FDS:
                return vl_error_set(err, f->errnum, "close vmlaunch's descriptors in QEMU");
        default:
                return vl_error_set(err, f->errnum, "reset signals in QEMU");
        }
}

static void cap_freep(cap_t *c)
{
        if (*c)
                cap_free(*c);
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

void qemu_proc_close(struct qemu_proc *p)
{
        close_fd(&p->pidfd);
        close_fd(&p->out_fd);
        close_fd(&p->err_fd);
}

int spawn_find_binary(const char *name, char **path, struct vl_error *err)
{
        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        return vl_error_set(err, errno, "QEMU binary %s", name);
                *path = strdup(name);
                return *path ? 0 : -ENOMEM;
        }
        const char *env = getenv("PATH");
        _cleanup_free_ char *dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
        if (!dirs)
                return -ENOMEM;
        char *save = NULL;
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *candidate;
                if (asprintf(&candidate, "%s/%s", d, name) < 0)
                        return -ENOMEM;
                if (access(candidate, X_OK) == 0) {
                        *path = candidate;
                        return 0;
                }
                free(candidate);
        }
        return vl_error_set(
                err, ENOENT,
                "QEMU binary '%s' not found in PATH; install qemu-system-x86 or set [qemu] binary to its full path",
                name);
}

int spawn_qemu(const struct spawn_request *req, struct qemu_proc *out, struct vl_error *err)
{
        *out = (struct qemu_proc)QEMU_PROC_NONE;
        _cleanup_free_ char *path = NULL;
        int r = spawn_find_binary(req->argv[0], &path, err);
        if (r < 0)
                return r;

        if (req->n_pass_fds > SPAWN_PASS_FDS_MAX)
                return vl_error_set(err, EINVAL, "more than %d descriptors to pass to QEMU",
                                    SPAWN_PASS_FDS_MAX);
        struct child_plan plan = {.path = path,
                                  .argv = req->argv,
                                  .parent = getpid(),
                                  .go_fd = -1,
                                  .go_write_fd = -1,
                                  .envp = req->envp,
                                  .pass_fds = req->pass_fds,
                                  .n_pass_fds = req->n_pass_fds};
        _cleanup_(cap_freep) cap_t no_caps = NULL;
        if (req->user && !vl_account_is_root(req->user)) {
                no_caps = cap_init();
                if (!no_caps)
                        return vl_error_set(err, errno, "prepare QEMU's empty capability sets");
                plan.user = req->user;
                plan.no_caps = no_caps;
        }
        if (req->affinity && req->affinity->count) {
                plan.set_affinity = true;
                CPU_ZERO(&plan.affinity);
                for (size_t i = 0; i < req->affinity->count; i++) {
                        if (req->affinity->cpus[i] >= CPU_SETSIZE)
                                return vl_error_set(
                                        err, EINVAL,
                                        "emulator CPU %u is beyond what vmlaunch supports (%d CPUs)",
                                        req->affinity->cpus[i], CPU_SETSIZE);
                        CPU_SET(req->affinity->cpus[i], &plan.affinity);
                }
        }
        if (req->memlock_bytes) {
                plan.set_memlock = true;
                plan.memlock.rlim_cur = plan.memlock.rlim_max = req->memlock_bytes;
        }

        _cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0)
                return vl_error_set(err, errno, "open /dev/null");
        int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, report[2] = {-1, -1};
        int go[2] = {-1, -1};
        if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0 ||
            pipe2(report, O_CLOEXEC) < 0 || (req->before_exec && pipe2(go, O_CLOEXEC) < 0)) {
                r = vl_error_set(err, errno, "create pipes for QEMU");
                goto fail_pipes;
        }
        /* `serial = /dev/stdout` makes QEMU reopen its stdout through /proc, which
         * checks the pipe's owner: QEMU's user must own its end. */
        if (plan.user && (fchown(out_pipe[1], plan.user->uid, plan.user->gid) < 0 ||
                          fchown(err_pipe[1], plan.user->uid, plan.user->gid) < 0)) {
                r = vl_error_set(err, errno, "give QEMU's user its output pipes");
                goto fail_pipes;
        }
        plan.go_fd = go[0];
        plan.go_write_fd = go[1];
        plan.stdin_fd = devnull;
        plan.stdout_fd = out_pipe[1];
        plan.stderr_fd = err_pipe[1];
        plan.report_fd = report[1];

        pid_t pid = fork();
        if (pid < 0) {
                r = vl_error_set(err, errno, "fork");
                goto fail_pipes;
        }
        if (pid == 0)
                child_exec(&plan);

        /* Also from here, so the group exists whichever side runs first
         * (fails harmlessly once QEMU has exec'd). */
        (void)setpgid(pid, pid);
        close_fd(&out_pipe[1]);
        close_fd(&err_pipe[1]);
        close_fd(&report[1]);
        close_fd(&go[0]);
        if (req->before_exec) {
                r = req->before_exec(req->before_exec_userdata, pid, err);
                if (r == 0 && write(go[1], "g", 1) != 1)
                        r = vl_error_set(err, errno, "let QEMU's process go on");
                close_fd(&go[1]); /* EOF: a child still waiting ends */
                if (r < 0) {
                        waitpid(pid, NULL, 0);
                        /* a child that failed before it waited is the first cause */
                        struct child_failure early;
                        if (read(report[0], &early, sizeof(early)) == (ssize_t)sizeof(early))
                                r = child_failure_error(&early, &plan, req, err);
                        goto fail_pipes;
                }
        }

        struct child_failure failure;
        ssize_t n;
        do
                n = read(report[0], &failure, sizeof(failure));
        while (n < 0 && errno == EINTR);
        close_fd(&report[0]);
        if (n == (ssize_t)sizeof(failure)) {
                waitpid(pid, NULL, 0);
                r = child_failure_error(&failure, &plan, req, err);
                goto fail_pipes;
        }

        /* The child is ours and not reaped, so its pid cannot be reused
         * before the pidfd refers to it. */
        int pidfd = vl_pidfd_open(pid);
        if (pidfd < 0) {
                r = vl_error_set(err, errno, "pidfd_open for QEMU (pid %d; needs Linux >= 5.3)",
                                 (int)pid);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                goto fail_pipes;
        }
        if (fcntl(out_pipe[0], F_SETFL, O_NONBLOCK) < 0 ||
            fcntl(err_pipe[0], F_SETFL, O_NONBLOCK) < 0) {
                r = vl_error_set(err, errno, "make QEMU's output pipes non-blocking");
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                close(pidfd);
                goto fail_pipes;
        }
        out->pid = pid;
        out->pidfd = pidfd;
        out->out_fd = out_pipe[0];
        out->err_fd = err_pipe[0];
        return 0;

fail_pipes:
        for (int i = 0; i < 2; i++) {
                close_fd(&out_pipe[i]);
                close_fd(&err_pipe[i]);
                close_fd(&report[i]);
                close_fd(&go[i]);
        }
        return r;
}

uint64_t spawn_memlock_bytes(const struct vm_def *def)
{
        if (!def->has_gpu)
                return 0;
        return def->memory_bytes + GIB;
}
