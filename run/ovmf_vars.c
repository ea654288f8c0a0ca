#include "run/ovmf_vars.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/trusted_path.h"

static int copy_fd(int in, int out)
{
        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : 0;
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(out, buf + done, (size_t)(n - done));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        done += w;
                }
        }
}

/* The vars file's directory, walked and checked (root creates the copy there), made
 * first when it is missing; *base points at the file's name in path. */
static int open_vars_dir(const char *path, const char **base, struct vl_trusted *dir,
                         struct vl_error *err)
{
        const char *slash = strrchr(path, '/');
        if (!slash || slash[1] == '\0')
                return vl_error_set_plain(
                        err, EINVAL, "[firmware] vars %s: expected an absolute file path", path);
        *base = slash + 1;
        char dir_path[PATH_MAX];
        snprintf(dir_path, sizeof(dir_path), "%.*s", slash == path ? 1 : (int)(slash - path), path);
        struct vl_trust_opts owned = {.mode = VL_TRUST_OWNED};
        int r = vl_trusted_open(dir_path, &owned, dir, err);
        if (r == -ENOENT) {
                /* what is above the folders it creates is checked by the walk after;
                 * 0711: QEMU's user passes them to the vars file it is handed */
                if ((r = vl_mkdir_parents(path, 0711, err)) == 0)
                        r = vl_trusted_open(dir_path, &owned, dir, err);
        }
        if (r < 0)
                return vl_error_prefix(err, "[firmware] vars");
        return 0;
}

int ovmf_vars_check(const struct vm_def *def, struct vl_error *err)
{
        if (def->firmware != VMDEF_FIRMWARE_UEFI || !def->ovmf_vars)
                return 0;
        const char *slash = strrchr(def->ovmf_vars, '/');
        if (!slash || slash == def->ovmf_vars)
                return 0; /* validation says what is wrong with such a path */
        /* the nearest folder that exists must be root's; vmlaunch creates the rest */
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - def->ovmf_vars), def->ovmf_vars);
        struct vl_trust_opts owned = {.mode = VL_TRUST_OWNED};
        struct vl_trusted d;
        int r;
        while ((r = vl_trusted_open(dir, &owned, &d, err)) == -ENOENT && strrchr(dir, '/') != dir)
                *strrchr(dir, '/') = '\0';
        if (r < 0)
                return vl_error_prefix(err, "[firmware] vars");
        struct stat st;
        if (strlen(dir) == (size_t)(slash - def->ovmf_vars) &&
            fstatat(d.fd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
                r = vl_error_set_plain(
                        err, EPERM,
                        "[firmware] vars %s is %s; root copies the template there and hands it to QEMU's user: give the real path of a regular file instead",
                        def->ovmf_vars, S_ISLNK(st.st_mode) ? "a symlink" : "not a regular file");
        close(d.fd);
        return r;
}

/* The template is read by root and its copy handed to QEMU's user: a user's symlink
 * must not make root copy a file of root's for them. */
static int open_template(const char *path, struct vl_error *err)
{
        struct vl_trust_opts opts = {.mode = VL_TRUST_SYMLINKS};
        struct vl_trusted t;
        int r = vl_trusted_open(path, &opts, &t, err);
        if (r == -EPERM)
                return vl_error_prefix(err, "[firmware] vars_template");
        if (r < 0)
                return vl_error_set(err, -r, "[firmware] vars_template %s", path);
        char via[64];
        snprintf(via, sizeof(via), "/proc/self/fd/%d", t.fd);
        int fd = open(via, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        int e = errno;
        close(t.fd);
        if (fd < 0)
                return vl_error_set(err, e, "[firmware] vars_template %s", path);
        return fd;
}

int ovmf_vars_ensure(const struct vm_def *def, bool *created, struct vl_error *err)
{
        *created = false;
        if (def->firmware != VMDEF_FIRMWARE_UEFI || !def->ovmf_vars || !def->ovmf_vars_template)
                return 0;
        const char *base = NULL; /* set when open_vars_dir succeeds (gcc -O2 cannot tell) */
        struct vl_trusted dir;
        int r = open_vars_dir(def->ovmf_vars, &base, &dir, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dir_fd = dir.fd;
        struct stat st;
        if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISREG(st.st_mode))
                        return 0; /* the VM's boot entries: never touched */
                return ovmf_vars_check(def, err);
        }
        _cleanup_close_ int in = open_template(def->ovmf_vars_template, err);
        if (in < 0)
                return in;
        /* Written under a temporary name and renamed, so a crash never leaves a
         * half-copied variable store that OVMF would refuse. Created, never opened: a
         * name planted there is not followed (the folder is root's anyway). */
        char tmp[NAME_MAX + 1];
        if (snprintf(tmp, sizeof(tmp), "%s.new", base) >= (int)sizeof(tmp))
                return vl_error_set(err, ENAMETOOLONG, "[firmware] vars %s", def->ovmf_vars);
        const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        _cleanup_close_ int out = openat(dir_fd, tmp, flags, 0600);
        if (out < 0 && errno == EEXIST && unlinkat(dir_fd, tmp, 0) == 0)
                out = openat(dir_fd, tmp, flags, 0600); /* left by a crash mid-copy */
        if (out < 0)
                return vl_error_set(err, errno, "create %s.new", def->ovmf_vars);
        r = copy_fd(in, out);
        if (r == 0 && fsync(out) < 0)
                r = -errno;
        if (r == 0 && renameat(dir_fd, tmp, dir_fd, base) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dir_fd, tmp, 0);
                return vl_error_set(err, -r, "copy %s to %s", def->ovmf_vars_template,
                                    def->ovmf_vars);
        }
        *created = true;
        return 0;
}
