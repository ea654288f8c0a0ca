#include "run/runstate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/macro.h"

#define LOCK_ATTEMPTS 5

char *runstate_path(const char *dir, const char *file)
{
        char *p;
        return asprintf(&p, "%s/%s", dir, file) < 0 ? NULL : p;
}

const char *runstate_root(void)
{
        const char *root = getenv("VMLAUNCH_RUNTIME_DIR");
        return root && *root ? root : RUNSTATE_DEFAULT_ROOT;
}

int runstate_dir(const char *name, char **dir, struct vl_error *err)
{
        if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return vl_error_set(
                        err, EINVAL,
                        "VM name '%s' cannot name a run directory; use letters, digits, '-', '_' or '.'",
                        name);
        if (asprintf(dir, "%s/%s", runstate_root(), name) < 0)
                return -ENOMEM;
        return 0;
}

/* mkdir -p for the runtime root; the root itself is not private (0755) so
 * that listing which VMs run needs no privilege, but each RUN_DIR is. */
int runstate_dir_create(const char *dir, struct vl_error *err)
{
        int r = vl_mkdir_parents(dir, 0755, err);
        if (r < 0)
                return r;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return vl_error_set(err, errno, "create the run directory %s", dir);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return vl_error_set(err, errno, "open the run directory %s", dir);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return vl_error_set(err, errno, "stat %s", dir);
        if (st.st_uid != geteuid())
                return vl_error_set(
                        err, EPERM,
                        "the run directory %s belongs to uid %u, not to us (uid %u); remove it",
                        dir, (unsigned)st.st_uid, (unsigned)geteuid());
        if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
                return vl_error_set(err, errno, "make %s private (0700)", dir);
        return 0;
}

static void describe_holder(int fd, char *buf, size_t len)
{
        char text[128] = "";
        ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
        text[n > 0 ? n : 0] = '\0';
        long pid = 0;
        long long since = 0;
        if (sscanf(text, "pid=%ld since=%lld", &pid, &since) != 2 || pid <= 0) {
                snprintf(buf, len, "another vmlaunch that is still starting");
                return;
        }
        time_t t = (time_t)since;
        struct tm tm;
        char when[64] = "?";
        if (localtime_r(&t, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf, len, "vmlaunch pid %ld, since %s", pid, when);
}

int runstate_lock(const char *dir, const char *name, struct vl_error *err)
{
        _cleanup_free_ char *path = runstate_path(dir, RUNSTATE_LOCK_FILE);
        if (!path)
                return -ENOMEM;
        for (int attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
                _cleanup_close_ int fd =
                        open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return vl_error_set(err, errno, "open %s", path);
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        if (errno != EWOULDBLOCK)
                                return vl_error_set(err, errno, "lock %s", path);
                        char holder[160];
                        describe_holder(fd, holder, sizeof(holder));
                        return vl_error_set(
                                err, EBUSY,
                                "%s is already running (%s; lock %s); `vmlaunch stop %s` ends it",
                                name, holder, path, name);
                }
                /* The previous holder unlinks the file when it ends; a lock taken
                 * on the unlinked inode would not exclude anyone: retry. */
                struct stat by_fd, by_path;
                if (fstat(fd, &by_fd) < 0)
                        return vl_error_set(err, errno, "stat %s", path);
                if (stat(path, &by_path) < 0 || by_fd.st_ino != by_path.st_ino ||
                    by_fd.st_dev != by_path.st_dev)
                        continue;
                char text[64];
                int n = snprintf(text, sizeof(text), "pid=%ld since=%lld\n", (long)getpid(),
                                 (long long)time(NULL));
                if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n)
                        return vl_error_set(err, errno, "write %s", path);
                return TAKE_FD(fd);
        }
        return vl_error_set(err, EAGAIN, "lock %s: it keeps being replaced", path);
}

int runstate_is_locked(const char *dir)
{
        _cleanup_free_ char *path = runstate_path(dir, RUNSTATE_LOCK_FILE);
        if (!path)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 1 : -errno;
        return 0; /* closing fd drops our shared lock */
}

int runstate_write(const char *dir, const struct runstate *st, struct vl_error *err)
{
        _cleanup_free_ char *path = runstate_path(dir, RUNSTATE_STATE_FILE);
        _cleanup_free_ char *tmp = runstate_path(dir, RUNSTATE_STATE_FILE ".new");
        if (!path || !tmp)
                return -ENOMEM;
        _cleanup_close_ int fd =
                open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return vl_error_set(err, errno, "create %s", tmp);
        char text[512];
        int n = snprintf(text, sizeof(text),
                         "pid=%ld\nqemu_pid=%ld\nqemu_start=%" PRIu64
                         "\nstate=%s\nstep=%s\nguest=%s\nagent=%s\nready=%d\nstarted=%" PRId64
                         "\nshutdown_timeout=%u\n",
                         (long)st->pid, (long)st->qemu_pid, st->qemu_start, st->state, st->step,
                         st->guest, st->agent, st->ready, st->started_s, st->shutdown_timeout_s);
        if (write(fd, text, (size_t)n) != n)
                return vl_error_set(err, errno, "write %s", tmp);
        if (rename(tmp, path) < 0)
                return vl_error_set(err, errno, "rename %s to %s", tmp, path);
        return 0;
}

int runstate_read(const char *dir, struct runstate *st, struct vl_error *err)
{
        _cleanup_free_ char *path = runstate_path(dir, RUNSTATE_STATE_FILE);
        if (!path)
                return -ENOMEM;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return vl_error_set(err, errno, "read %s", path);
        *st = (struct runstate){0};
        char line[128];
        while (fgets(line, sizeof(line), f)) {
                long v;
                long long ll;
                if (sscanf(line, "pid=%ld", &v) == 1)
                        st->pid = (pid_t)v;
                else if (sscanf(line, "qemu_pid=%ld", &v) == 1)
                        st->qemu_pid = (pid_t)v;
                else if (sscanf(line, "qemu_start=%" SCNu64, &st->qemu_start) == 1)
                        continue;
                else if (sscanf(line, "state=%15s", st->state) == 1)
                        continue;
                else if (sscanf(line, "step=%47s", st->step) == 1)
                        continue;
                else if (sscanf(line, "guest=%15s", st->guest) == 1)
                        continue;
                else if (sscanf(line, "agent=%7s", st->agent) == 1)
                        continue;
                else if (sscanf(line, "ready=%ld", &v) == 1)
                        st->ready = v == 1;
                else if (sscanf(line, "started=%lld", &ll) == 1)
                        st->started_s = ll;
                else if (sscanf(line, "shutdown_timeout=%ld", &v) == 1 && v >= 0)
                        st->shutdown_timeout_s = (unsigned)v;
        }
        if (st->pid <= 0)
                return vl_error_set(err, EINVAL, "%s names no vmlaunch pid", path);
        return 0;
}

void runstate_cleanup(const char *dir, int lock_fd)
{
        static const char *const files[] = {RUNSTATE_STATE_FILE,    RUNSTATE_STATE_FILE ".new",
                                            RUNSTATE_QMP_SOCKET,    RUNSTATE_CTL_SOCKET,
                                            RUNSTATE_EVENTS_SOCKET, RUNSTATE_AGENT_SOCKET,
                                            RUNSTATE_LOCK_FILE};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = runstate_path(dir, files[i]);
                if (p)
                        unlink(p);
        }
        if (lock_fd >= 0)
                close(lock_fd);
        rmdir(dir); /* fails, as it should, while a journal waits for restore */
}
