#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* deep enough for any tree vmlaunch makes; a deeper one is refused, not walked */
#define REMOVE_TREE_MAX_DEPTH 16

int vl_mkdir_parents(const char *path, mode_t mode, struct vl_error *err)
{
        char *copy = strdup(path);
        if (!copy)
                return vl_error_set(err, ENOMEM, "create the folders of %s", path);
        int r = 0;
        for (char *p = copy + 1; *p && r == 0; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(copy, mode) == 0) {
                        /* exactly mode, whatever the umask */
                        if (chmod(copy, mode) < 0)
                                r = vl_error_set(err, errno, "chmod %04o %s", (unsigned)mode, copy);
                } else if (errno != EEXIST) {
                        r = vl_error_set(err, errno, "create %s", copy);
                }
                *p = '/';
        }
        free(copy);
        return r;
}

static int remove_tree(int dir_fd, const char *name, int depth, struct vl_error *err)
{
        if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return vl_error_set(err, errno, "remove %s", name);
        if (depth >= REMOVE_TREE_MAX_DEPTH)
                return vl_error_set_plain(err, ELOOP, "remove %s: nested too deep", name);
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return vl_error_set(err, errno, "open %s", name);
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return vl_error_set(err, e, "open %s", name);
        }
        int r = 0;
        struct dirent *e;
        while (r == 0 && (e = readdir(d))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                r = remove_tree(dirfd(d), e->d_name, depth + 1, err);
        }
        closedir(d);
        if (r < 0)
                return vl_error_prefix(err, "in %s", name);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return vl_error_set(err, errno, "remove %s", name);
        return 0;
}

int vl_remove_tree_at(int dir_fd, const char *name, struct vl_error *err)
{
        return remove_tree(dir_fd, name, 0, err);
}
