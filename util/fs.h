/* Small file-system helpers shared by the stages. */
#pragma once

#include <sys/types.h>

#include "util/error.h"

/* Creates every missing folder above path (not path itself; end path with '/' to
 * include it) with exactly mode, whatever the umask; folders that exist are left as
 * they are. Returns 0 or -errno naming the folder. */
int vl_mkdir_parents(const char *path, mode_t mode, struct vl_error *err);

/* Removes name under dir_fd and, when it is a folder, everything in it, without
 * following a symlink anywhere (safe in a folder another user can write). A missing
 * name is not an error. Returns 0 or -errno naming what could not be removed. */
int vl_remove_tree_at(int dir_fd, const char *name, struct vl_error *err);
