#include "hostprep/sysroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostprep/test_seams.h"
#include "util/cleanup.h"
#include "util/strv.h"

static char root_dir[PATH_MAX];
static bool root_set;
static sysroot_write_hook_fn write_hook;

void sysroot_set_write_hook(sysroot_write_hook_fn hook)
{
        write_hook = hook;
}

void sysroot_set(const char *root)
{
        snprintf(root_dir, sizeof(root_dir), "%s", root ? root : "");
        size_t n = strlen(root_dir);
        while (n > 0 && root_dir[n - 1] == '/') /* "/" means the real root */
                root_dir[--n] = '\0';
        root_set = true;
}

const char *sysroot_get(void)
{
        if (!root_set)
                sysroot_set(test_seams_sysroot());
        return root_dir;
}

int sysroot_path(char *buf, size_t len, const char *fmt, ...)
{
        const char *root = sysroot_get();
        int n = snprintf(buf, len, "%s", root);
        if (n < 0 || (size_t)n >= len)
                return -ENAMETOOLONG;
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
        va_end(ap);
        if (m < 0 || (size_t)m >= len - (size_t)n)
                return -ENAMETOOLONG;
        return 0;
}

int sysroot_read_file(const char *path, char **out)
{
        char full[PATH_MAX];
        int r = sysroot_path(full, sizeof(full), "%s", path);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(full, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len + 1 >= cap) {
                        char *bigger = realloc(buf, cap * 2);
                        if (!bigger)
                                return -ENOMEM;
                        buf = bigger;
                        cap *= 2;
                }
                ssize_t got = read(fd, buf + len, cap - len - 1);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (got == 0)
                        break;
                len += (size_t)got;
        }
        buf[len] = '\0';
        *out = TAKE_PTR(buf);
        return 0;
}

int sysroot_read_line(const char *path, char *buf, size_t len)
{
        _cleanup_free_ char *all = NULL;
        int r = sysroot_read_file(path, &all);
        if (r < 0)
                return r;
        all[strcspn(all, "\n")] = '\0';
        if (strlen(all) >= len)
                return -ENAMETOOLONG;
        strcpy(buf, all);
        return 0;
}

int sysroot_link_basename(const char *path, char *buf, size_t len)
{
        char full[PATH_MAX], target[PATH_MAX];
        int r = sysroot_path(full, sizeof(full), "%s", path);
        if (r < 0)
                return r;
        ssize_t n = readlink(full, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strlen(base) >= len)
                return -ENAMETOOLONG;
        strcpy(buf, base);
        return 0;
}

bool sysroot_exists(const char *path)
{
        char full[PATH_MAX];
        struct stat st;
        return sysroot_path(full, sizeof(full), "%s", path) == 0 && lstat(full, &st) == 0;
}

int sysroot_write(const char *path, const char *value, struct vl_error *err)
{
        if (write_hook)
                return write_hook(path, value, err);
        return sysroot_write_raw(path, value, err);
}

int sysroot_write_raw(const char *path, const char *value, struct vl_error *err)
{
        char full[PATH_MAX];
        int r = sysroot_path(full, sizeof(full), "%s", path);
        if (r < 0)
                return vl_error_set(err, -r, "write %s", path);
        _cleanup_close_ int fd = open(full, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return vl_error_set(err, errno, "open %s for writing", full);
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return vl_error_set(err, errno, "write '%s' to %s", value, full);
        if ((size_t)n != len)
                return vl_error_set(err, EIO, "short write of '%s' to %s", value, full);
        return 0;
}

int sysroot_list_dir(const char *path, struct vl_strv *out)
{
        *out = (struct vl_strv){0};
        char full[PATH_MAX];
        int r = sysroot_path(full, sizeof(full), "%s", path);
        if (r < 0)
                return r;
        return list_dir_sorted(full, out);
}

int list_dir_sorted(const char *full, struct vl_strv *out)
{
        *out = (struct vl_strv){0};
        int r = 0;
        struct dirent **names = NULL;
        int n = scandir(full, &names, NULL, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                if (r == 0 && strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
                        r = vl_strv_push(out, names[i]->d_name);
                free(names[i]);
        }
        free(names);
        if (r < 0)
                vl_strv_free(out);
        return r;
}
