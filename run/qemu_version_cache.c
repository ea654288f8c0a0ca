#include "run/qemu_version_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu/qemu_compat.h"
#include "qemu/qemu_env.h"
#include "run/spawn.h"
#include "util/cleanup.h"
#include "util/clock.h"

/* A line per QEMU binary used on this host: a few lines. Anything bigger is
 * not ours and is ignored (then replaced). */
#define CACHE_MAX_BYTES          16384
#define KEY_MAX                  (PATH_MAX + 128)
#define VERSION_PROBE_TIMEOUT_MS 10000

/* "dev=.. ino=.. size=.. mtime=.. ctime=.. PATH": what must not have changed.
 * 1 when the path cannot be a line of the cache (too long, a newline). */
static int binary_key(const char *binary, char *key, struct vl_error *err)
{
        if (strchr(binary, '\n'))
                return 1;
        struct stat st;
        if (stat(binary, &st) < 0)
                return vl_error_set(err, errno, "QEMU binary %s", binary);
        int n = snprintf(key, KEY_MAX,
                         "dev=%llu ino=%llu size=%lld mtime=%lld.%09ld ctime=%lld.%09ld %s",
                         (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                         (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                         (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, binary);
        return n > 0 && n < KEY_MAX ? 0 : 1;
}

/* The cache's text, or "" when there is none or it is not trustworthy: only a
 * regular file of ours that nobody else can write. */
static void cache_read(const char *cache_file, char *text)
{
        text[0] = '\0';
        _cleanup_close_ int fd = open(cache_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
            (st.st_mode & 022) || st.st_size >= CACHE_MAX_BYTES)
                return;
        ssize_t n = read(fd, text, CACHE_MAX_BYTES - 1);
        text[n > 0 ? n : 0] = '\0';
}

/* "VERSION SECCOMP KEY" lines (SECCOMP 0 or 1); true when the line whose key is
 * KEY was found and filled info. */
static bool cache_find(const char *text, const char *key, struct qemu_binary_info *info)
{
        for (const char *line = text; *line;) {
                size_t len = strcspn(line, "\n");
                unsigned version, seccomp;
                int key_at = 0;
                if (sscanf(line, "%u %u %n", &version, &seccomp, &key_at) == 2 && key_at > 0 &&
                    version && seccomp <= 1 && len - (size_t)key_at == strlen(key) &&
                    !strncmp(line + key_at, key, len - key_at)) {
                        *info = (struct qemu_binary_info){.version = version, .seccomp = seccomp};
                        return true;
                }
                line += len + (line[len] == '\n');
        }
        return false;
}

/* Rewrites the cache with the other binaries' lines and this one's, through a
 * temporary file and rename(), so concurrent launches never read half a file
 * (two writers at once may drop one line: that only costs a probe later). */
static void cache_write(const char *cache_file, const char *text, const char *binary,
                        const struct qemu_binary_info *info, const char *key)
{
        _cleanup_free_ char *tmp_path = NULL;
        if (asprintf(&tmp_path, "%s.XXXXXX", cache_file) < 0) {
                tmp_path = NULL;
                return;
        }
        int fd = mkostemp(tmp_path, O_CLOEXEC);
        if (fd < 0)
                return;
        _cleanup_fclose_ FILE *f = fdopen(fd, "w");
        if (!f) {
                close(fd);
                unlink(tmp_path);
                return;
        }
        size_t path_len = strlen(binary);
        for (const char *line = text; *line;) {
                size_t len = strcspn(line, "\n");
                /* Drop the old line of this path (the binary changed). */
                bool same_path = len > path_len && line[len - path_len - 1] == ' ' &&
                                 !strncmp(line + len - path_len, binary, path_len);
                if (!same_path)
                        fprintf(f, "%.*s\n", (int)len, line);
                line += len + (line[len] == '\n');
        }
        fprintf(f, "%u %d %s\n", info->version, info->seccomp, key);
        bool ok = fchmod(fd, 0644) == 0 && fflush(f) == 0 && !ferror(f);
        if (!ok || rename(tmp_path, cache_file) < 0)
                unlink(tmp_path);
}

/* Runs `BINARY [-sandbox on] -version` and parses its first line. QEMU parses
 * -sandbox (and refuses it when built without seccomp) before -version exits. */
static int run_version(const char *binary, const struct vl_account *user, bool sandbox,
                       unsigned *version, struct vl_error *err)
{
        static char *const env[] = {"PATH=" QEMU_ENV_PATH, "LANG=C.UTF-8", NULL};
        char *plain[] = {(char *)binary, "-version", NULL};
        char *with_sandbox[] = {(char *)binary, "-sandbox", "on", "-version", NULL};
        char *const *argv = sandbox ? with_sandbox : plain;
        struct spawn_request req = {.argv = argv, .user = user, .envp = env};
        struct qemu_proc p;
        int r = spawn_qemu(&req, &p, err);
        if (r < 0)
                return vl_error_prefix(err, "probe QEMU's version");

        char text[4096];
        size_t used = 0;
        long long deadline = vl_monotonic_ms() + VERSION_PROBE_TIMEOUT_MS;
        bool out_open = true, err_open = true;
        while (out_open || err_open) {
                long long left = deadline - vl_monotonic_ms();
                if (left <= 0)
                        break;
                struct pollfd fds[] = {{.fd = out_open ? p.out_fd : -1, .events = POLLIN},
                                       {.fd = err_open ? p.err_fd : -1, .events = POLLIN}};
                if (poll(fds, 2, (int)left) < 0 && errno != EINTR)
                        break;
                if (fds[0].revents) {
                        ssize_t n = read(p.out_fd, text + used, sizeof(text) - 1 - used);
                        if (n > 0)
                                used += (size_t)n;
                        else if (n == 0 || errno != EAGAIN)
                                out_open = false;
                        if (used == sizeof(text) - 1)
                                out_open = false;
                }
                if (fds[1].revents) {
                        char discard[512];
                        ssize_t n = read(p.err_fd, discard, sizeof(discard));
                        if (n == 0 || (n < 0 && errno != EAGAIN))
                                err_open = false;
                }
        }
        text[used] = '\0';
        if (out_open || err_open)
                kill(p.pid, SIGKILL);
        int status = 0;
        waitpid(p.pid, &status, 0);
        qemu_proc_close(&p);
        if (out_open || err_open)
                return vl_error_set(err, ETIMEDOUT, "%s -version did not finish", binary);
        if (qemu_version_parse(text, version) < 0)
                return vl_error_set(
                        err, EINVAL,
                        "%s -version printed no \"QEMU emulator version X.Y.Z\" (exit status %d); is it QEMU?",
                        binary, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
}

/* The version, and whether this QEMU has seccomp: one run when it has. */
static int qemu_version_probe(const char *binary, const struct vl_account *user,
                              struct qemu_binary_info *info, struct vl_error *err)
{
        struct vl_error ignored = {0};
        info->seccomp = run_version(binary, user, true, &info->version, &ignored) == 0;
        return info->seccomp ? 0 : run_version(binary, user, false, &info->version, err);
}

int qemu_version_cached(const char *binary, const struct vl_account *user, const char *cache_file,
                        struct qemu_binary_info *info, bool *probed, struct vl_error *err)
{
        char key[KEY_MAX];
        int r = cache_file ? binary_key(binary, key, err) : 1;
        bool probed_here = true;
        if (!probed)
                probed = &probed_here;
        if (r > 0) {
                *probed = true;
                return qemu_version_probe(binary, user, info, err);
        }
        if (r < 0)
                return r;
        _cleanup_free_ char *text = malloc(CACHE_MAX_BYTES);
        if (!text)
                return vl_error_set(err, ENOMEM, "QEMU version cache");
        cache_read(cache_file, text);
        *probed = !cache_find(text, key, info);
        if (!*probed)
                return 0;
        r = qemu_version_probe(binary, user, info, err);
        if (r == 0)
                cache_write(cache_file, text, binary, info, key);
        return r;
}

char *qemu_version_cache_path(const char *run_dir)
{
        const char *slash = strrchr(run_dir, '/');
        char *path;
        if (asprintf(&path, "%.*s/%s", slash ? (int)(slash - run_dir) : 1, slash ? run_dir : ".",
                     QEMU_VERSION_CACHE_FILE) < 0)
                return NULL;
        return path;
}
