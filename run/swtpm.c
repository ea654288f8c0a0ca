#include "run/swtpm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/supervise.h"
#include "util/poll_extra.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/pidfd.h"
#include "util/stop_signal.h"
#include "util/trusted_path.h"

/* swtpm's control channel (swtpm's tpm_ioctl.h): a big-endian 32-bit command, then
 * its answer; CMD_GET_CAPABILITY answers with a 64-bit capability mask. */
#define SWTPM_CMD_GET_CAPABILITY 1
#define SWTPM_CAP_ANSWER_BYTES   8
#define SWTPM_END_GRACE_MS       5000

#define STATE_SUBDIR     "state"
#define STATE_NEW_SUBDIR "state.new"
#define LOCALCA_SUBDIR   "localca"
/* swtpm writes the TPM's whole state to this file (tpm2 state backend "dir"). */
#define STATE_FILE "tpm2-00.permall"

int swtpm_check_installed(struct vl_error *err)
{
        static const char *const programs[][2] = {{"swtpm", SWTPM_PACKAGE},
                                                  {"swtpm_setup", SWTPM_SETUP_PACKAGE}};
        for (size_t i = 0; i < 2; i++) {
                char *path = NULL;
                struct vl_error ignored = {0};
                if (spawn_find_binary(programs[i][0], &path, &ignored) < 0)
                        return vl_error_set_plain(
                                err, ENOENT,
                                "%s is not installed; install the Debian package %s (or set enabled = no)",
                                programs[i][0], programs[i][1]);
                free(path);
        }
        return 0;
}

/* Root creates the config files and state folders in the state dir: it must be
 * root's, every folder above it too. The nearest one that exists when it is missing. */
int swtpm_state_check(const struct vm_def *def, struct vl_error *err)
{
        if (!def->tpm_enabled || !def->tpm_state_dir)
                return 0;
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", def->tpm_state_dir);
        struct vl_trust_opts owned = {.mode = VL_TRUST_OWNED};
        struct vl_trusted d;
        int r;
        while ((r = vl_trusted_open(dir, &owned, &d, err)) == -ENOENT && strrchr(dir, '/') != dir)
                *strrchr(dir, '/') = '\0';
        if (r < 0)
                return vl_error_prefix(err, "[tpm] state_dir");
        if (!S_ISDIR(d.st.st_mode))
                r = vl_error_set_plain(err, ENOTDIR, "[tpm] state_dir %s is not a folder", dir);
        close(d.fd);
        return r;
}

/* A folder of QEMU's user in the trusted state dir: made once, then only checked
 * (a user change is refused rather than silently taking the state along). */
static int user_folder(int dir_fd, const char *state_dir, const char *name,
                       const struct vl_account *user, struct vl_error *err)
{
        if (mkdirat(dir_fd, name, 0700) == 0) {
                if (fchownat(dir_fd, name, user->uid, user->gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return vl_error_set(err, errno, "chown %s/%s to %s", state_dir, name,
                                            user->name);
                return 0;
        }
        if (errno != EEXIST)
                return vl_error_set(err, errno, "create %s/%s", state_dir, name);
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return vl_error_set(err, errno, "%s/%s", state_dir, name);
        if (!S_ISDIR(st.st_mode))
                return vl_error_set_plain(err, EPERM, "[tpm] state_dir: %s/%s is not a folder",
                                          state_dir, name);
        if (st.st_uid != user->uid)
                return vl_error_set_plain(
                        err, EPERM,
                        "[tpm] state_dir: %s/%s belongs to uid %u, not to QEMU's user %s: chown -R %s: %s/%s if it is this VM's TPM",
                        state_dir, name, (unsigned)st.st_uid, user->name, user->name, state_dir,
                        name);
        return 0;
}

/* swtpm_setup's own configuration, pointing its certificate authority at the VM's
 * localca/: the system one (/var/lib/swtpm-localca) is not writable by QEMU's user. */
static int write_config(int dir_fd, const char *name, const char *text, struct vl_error *err)
{
        _cleanup_close_ int fd =
                openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return vl_error_set(err, errno, "create %s", name);
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t)len)
                return vl_error_set(err, errno, "write %s", name);
        return 0;
}

static int write_configs(int dir_fd, const char *dir, struct vl_error *err)
{
        _cleanup_free_ char *setup = NULL, *localca = NULL;
        if (asprintf(&setup,
                     "create_certs_tool = /usr/bin/swtpm_localca\n"
                     "create_certs_tool_config = %s/swtpm-localca.conf\n"
                     "create_certs_tool_options = /etc/swtpm-localca.options\n"
                     "active_pcr_banks = sha256\n",
                     dir) < 0 ||
            asprintf(&localca,
                     "statedir = %1$s/" LOCALCA_SUBDIR "\n"
                     "signingkey = %1$s/" LOCALCA_SUBDIR "/signkey.pem\n"
                     "issuercert = %1$s/" LOCALCA_SUBDIR "/issuercert.pem\n"
                     "certserial = %1$s/" LOCALCA_SUBDIR "/certserial\n",
                     dir) < 0)
                return vl_error_set(err, ENOMEM, "swtpm configuration");
        int r = write_config(dir_fd, "swtpm_setup.conf", setup, err);
        return r < 0 ? r : write_config(dir_fd, "swtpm-localca.conf", localca, err);
}

/* The environment swtpm and swtpm_setup get: nothing of vmlaunch's. */
struct small_env {
        char user[300], logname[300];
        char *items[6];
};

static void small_env_init(struct small_env *e, const struct vl_account *user)
{
        snprintf(e->user, sizeof(e->user), "USER=%s", user->name);
        snprintf(e->logname, sizeof(e->logname), "LOGNAME=%s", user->name);
        e->items[0] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        e->items[1] = "HOME=/";
        e->items[2] = "LANG=C.UTF-8";
        e->items[3] = e->user;
        e->items[4] = e->logname;
        e->items[5] = NULL;
}

/* Keeps the last line a child printed (its error, when it fails). */
static void read_last_line(int *fd, char *last, size_t len)
{
        char buf[4096];
        ssize_t n;
        while ((n = read(*fd, buf, sizeof(buf) - 1)) > 0) {
                buf[n] = '\0';
                char *end = buf + n;
                while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
                        *--end = '\0';
                if (end == buf)
                        continue;
                char *line = strrchr(buf, '\n');
                snprintf(last, len, "%s", line ? line + 1 : buf);
        }
        if (n == 0) {
                close(*fd);
                *fd = -1;
        }
}

/* A stop signal in the signalfd cancels; SIGCHLD alone does not. */
static bool stop_requested(void)
{
        if (vl_stop_signal_pending())
                return true;
        supervise_drop_sigchld();
        return false;
}

static int run_setup(const char *state_dir, const struct vl_account *user, int signal_fd,
                     struct vl_error *err)
{
        _cleanup_free_ char *tpmstate = NULL, *config = NULL;
        if (asprintf(&tpmstate, "%s/" STATE_NEW_SUBDIR, state_dir) < 0 ||
            asprintf(&config, "%s/swtpm_setup.conf", state_dir) < 0)
                return vl_error_set(err, ENOMEM, "swtpm_setup");
        /* As libvirt does: EK and platform certificates, NVRAM locked, and never
         * over a TPM that exists (its keys are the guest's identity). */
        char *const argv[] = {"swtpm_setup",
                              "--tpm2",
                              "--tpmstate",
                              tpmstate,
                              "--create-ek-cert",
                              "--create-platform-cert",
                              "--lock-nvram",
                              "--not-overwrite",
                              "--config",
                              config,
                              NULL};
        struct small_env env;
        small_env_init(&env, user);
        struct spawn_request req = {.argv = argv, .user = user, .envp = env.items};
        struct qemu_proc p = QEMU_PROC_NONE;
        int r = spawn_qemu(&req, &p, err);
        if (r < 0)
                return vl_error_prefix(err, "swtpm_setup");
        char last[512] = "";
        int status = 0;
        bool cancelled = false, timed_out = false, killed = false;
        long long deadline = vl_monotonic_ms() + SWTPM_SETUP_TIMEOUT_MS;
        for (;;) {
                pid_t w = waitpid(p.pid, &status, WNOHANG);
                if (w == p.pid || (w < 0 && errno != EINTR))
                        break;
                long long left = deadline - vl_monotonic_ms();
                if (!killed && (cancelled || left <= 0)) {
                        timed_out = !cancelled;
                        /* and the swtpm it runs: its own process group, whose id
                         * cannot be reused before swtpm_setup is reaped */
                        (void)vl_pidfd_send_signal(p.pidfd, SIGKILL);
                        (void)kill(-p.pid, SIGKILL);
                        killed = true;
                }
                /* once killed, only its exit (and its last output) matters */
                struct pollfd fds[] = {{.fd = p.pidfd, .events = POLLIN},
                                       {.fd = killed ? -1 : signal_fd, .events = POLLIN},
                                       {.fd = p.out_fd, .events = POLLIN},
                                       {.fd = p.err_fd, .events = POLLIN}};
                if (vl_poll(fds, 4, killed ? -1 : (int)(left > 0 ? left : 0)) < 0 && errno != EINTR)
                        break;
                if (fds[1].revents && stop_requested())
                        cancelled = true;
                if (fds[2].revents)
                        read_last_line(&p.out_fd, last, sizeof(last));
                if (fds[3].revents)
                        read_last_line(&p.err_fd, last, sizeof(last));
        }
        if (p.out_fd >= 0)
                read_last_line(&p.out_fd, last, sizeof(last));
        if (p.err_fd >= 0)
                read_last_line(&p.err_fd, last, sizeof(last));
        qemu_proc_close(&p);
        if (cancelled && !timed_out)
                return vl_error_set(err, ECANCELED, "asked to stop while swtpm_setup ran");
        if (timed_out)
                return vl_error_set_plain(err, ETIMEDOUT,
                                          "swtpm_setup did not finish within %d s; killed",
                                          SWTPM_SETUP_TIMEOUT_MS / 1000);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                char how[96];
                supervise_describe_status(status, how, sizeof(how));
                return vl_error_set_plain(err, EIO,
                                          "swtpm_setup (as %s, creating the TPM in %s) %s%s%s",
                                          user->name, tpmstate, how, *last ? ": " : "", last);
        }
        return 0;
}

int swtpm_state_ensure(const struct vm_def *def, const struct vl_account *user, int signal_fd,
                       bool *created, struct vl_error *err)
{
        *created = false;
        if (!def->tpm_enabled)
                return 0;
        const char *dir = def->tpm_state_dir;
        struct vl_trust_opts owned = {.mode = VL_TRUST_OWNED};
        struct vl_trusted d;
        int r = vl_trusted_open(dir, &owned, &d, err);
        if (r == -ENOENT) {
                /* what is above the folders it creates is checked by the walk after;
                 * 0711: QEMU's user passes them to its own state/ */
                char with_slash[PATH_MAX];
                snprintf(with_slash, sizeof(with_slash), "%s/", dir);
                if ((r = vl_mkdir_parents(with_slash, 0711, err)) == 0)
                        r = vl_trusted_open(dir, &owned, &d, err);
        }
        if (r < 0)
                return vl_error_prefix(err, "[tpm] state_dir");
        _cleanup_close_ int dir_fd = d.fd;
        if (!S_ISDIR(d.st.st_mode))
                return vl_error_set_plain(err, ENOTDIR, "[tpm] state_dir %s is not a folder", dir);
        /* state/ is checked too when it holds no TPM: one of another user is never
         * taken over, not even to be cleared */
        if ((r = user_folder(dir_fd, dir, STATE_SUBDIR, user, err)) < 0 ||
            (r = user_folder(dir_fd, dir, LOCALCA_SUBDIR, user, err)) < 0)
                return r;
        struct stat st;
        if (fstatat(dir_fd, STATE_SUBDIR "/" STATE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0; /* manufactured once: the guest's keys are never replaced */
        /* Made aside and renamed into place when whole, so a setup that is stopped,
         * fails or is killed with vmlaunch never leaves a TPM that later runs would
         * take for made. What an earlier one left holds no TPM: gone. */
        if ((r = vl_remove_tree_at(dir_fd, STATE_SUBDIR, err)) < 0 ||
            (r = vl_remove_tree_at(dir_fd, STATE_NEW_SUBDIR, err)) < 0)
                return vl_error_prefix(err, "[tpm] state_dir %s: clear an unfinished TPM", dir);
        if ((r = user_folder(dir_fd, dir, STATE_NEW_SUBDIR, user, err)) < 0)
                return r;
        if ((r = write_configs(dir_fd, dir, err)) < 0)
                return vl_error_prefix(err, "[tpm] state_dir %s", dir);
        r = run_setup(dir, user, signal_fd, err);
        if (r == 0 && renameat(dir_fd, STATE_NEW_SUBDIR, dir_fd, STATE_SUBDIR) < 0)
                r = vl_error_set(err, errno,
                                 "[tpm] state_dir %s: rename " STATE_NEW_SUBDIR " to " STATE_SUBDIR,
                                 dir);
        if (r < 0) {
                struct vl_error ignored = {0};
                (void)vl_remove_tree_at(dir_fd, STATE_NEW_SUBDIR, &ignored);
                return r;
        }
        (void)fsync(dir_fd);
        *created = true;
        return 0;
}

/* Answers CMD_GET_CAPABILITY: swtpm runs and serves its control channel. */
static int wait_until_answering(int fd, const struct qemu_proc *p, int signal_fd,
                                struct vl_error *err)
{
        uint32_t cmd = htonl(SWTPM_CMD_GET_CAPABILITY);
        if (send(fd, &cmd, sizeof(cmd), MSG_NOSIGNAL) != (ssize_t)sizeof(cmd))
                return vl_error_set(err, errno, "swtpm's control channel");
        unsigned char answer[SWTPM_CAP_ANSWER_BYTES];
        size_t got = 0;
        long long deadline = vl_monotonic_ms() + SWTPM_STARTUP_TIMEOUT_MS;
        while (got < sizeof(answer)) {
                long long left = deadline - vl_monotonic_ms();
                if (left <= 0)
                        return vl_error_set_plain(
                                err, ETIMEDOUT,
                                "swtpm did not answer on its control channel within %d s",
                                SWTPM_STARTUP_TIMEOUT_MS / 1000);
                struct pollfd fds[] = {{.fd = fd, .events = POLLIN},
                                       {.fd = signal_fd, .events = POLLIN},
                                       {.fd = p->pidfd, .events = POLLIN}};
                if (vl_poll(fds, 3, (int)left) < 0) {
                        if (errno == EINTR)
                                continue;
                        return vl_error_set(err, errno, "poll");
                }
                if (fds[1].revents && stop_requested())
                        return vl_error_set(err, ECANCELED, "asked to stop while swtpm started");
                if (fds[0].revents) {
                        ssize_t n = recv(fd, answer + got, sizeof(answer) - got, MSG_DONTWAIT);
                        if (n > 0) {
                                got += (size_t)n;
                                continue;
                        }
                        if (n == 0 || (errno != EAGAIN && errno != EINTR))
                                return vl_error_set_plain(err, EPIPE,
                                                          "swtpm closed its control channel");
                }
                if (fds[2].revents)
                        return vl_error_set_plain(err, ESRCH, "swtpm exited as it started");
        }
        return 0;
}

int swtpm_start(const struct vm_def *def, const struct vl_account *user, int signal_fd,
                struct qemu_proc *out, int *qemu_fd, struct vl_error *err)
{
        *qemu_fd = -1;
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                return vl_error_set(err, errno, "socketpair for swtpm");
        _cleanup_free_ char *tpmstate = NULL;
        if (asprintf(&tpmstate, "dir=%s/" STATE_SUBDIR, def->tpm_state_dir) < 0) {
                close(pair[0]);
                close(pair[1]);
                return vl_error_set(err, ENOMEM, "start swtpm");
        }
        /* Its end of the pair is its descriptor 3. --terminate: it ends when the
         * other end (QEMU's) closes, so it cannot outlive QEMU. */
        char *const argv[] = {"swtpm",
                              "socket",
                              "--tpm2",
                              "--tpmstate",
                              tpmstate,
                              "--ctrl",
                              "type=unixio,clientfd=3",
                              "--terminate",
                              "--seccomp",
                              "action=kill",
                              NULL};
        struct small_env env;
        small_env_init(&env, user);
        struct spawn_request req = {.argv = argv,
                                    .user = user,
                                    .envp = env.items,
                                    .pass_fds = &pair[1],
                                    .n_pass_fds = 1};
        int r = spawn_qemu(&req, out, err);
        close(pair[1]);
        if (r < 0) {
                close(pair[0]);
                return vl_error_prefix(err, "start swtpm");
        }
        r = wait_until_answering(pair[0], out, signal_fd, err);
        if (r < 0) {
                close(pair[0]);
                char last[512] = "";
                if (out->err_fd >= 0)
                        read_last_line(&out->err_fd, last, sizeof(last));
                swtpm_end(out, NULL, NULL, 0);
                if (*last && r != -ECANCELED) {
                        char why[sizeof(err->msg)];
                        snprintf(why, sizeof(why), "%s", err->msg);
                        vl_error_set_plain(err, -r, "%s: %s", why, last);
                }
                return r;
        }
        *qemu_fd = pair[0];
        return 0;
}

void swtpm_end(struct qemu_proc *p, int *wait_status, char *last_line, size_t len)
{
        int status = 0;
        if (last_line && len)
                last_line[0] = '\0';
        if (p->pid) {
                (void)vl_pidfd_send_signal(p->pidfd, SIGTERM);
                long long deadline = vl_monotonic_ms() + SWTPM_END_GRACE_MS;
                bool killed = false;
                for (;;) {
                        pid_t r = waitpid(p->pid, &status, WNOHANG);
                        if (r == p->pid || (r < 0 && errno != EINTR))
                                break;
                        long long left = deadline - vl_monotonic_ms();
                        if (left <= 0 && !killed) {
                                (void)vl_pidfd_send_signal(p->pidfd, SIGKILL);
                                killed = true;
                        }
                        struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
                        (void)poll(&pfd, 1, killed ? -1 : (int)(left > 0 ? left : 0));
                }
                p->pid = 0;
        }
        /* What it said before it ended (errors go to stderr): the pipes hold it. */
        for (int *fd = &p->out_fd; last_line && len && fd <= &p->err_fd; fd++)
                if (*fd >= 0)
                        read_last_line(fd, last_line, len);
        qemu_proc_close(p);
        if (wait_status)
                *wait_status = status;
}
