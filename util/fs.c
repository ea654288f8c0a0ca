#include "util/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
