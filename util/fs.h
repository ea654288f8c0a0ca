/* Small file-system helpers shared by the stages. */
#pragma once

#include <sys/types.h>

#include "util/error.h"

/* Creates every missing folder above path (not path itself; end path with '/' to
 * include it) with exactly mode, whatever the umask; folders that exist are left as
 * they are. Returns 0 or -errno naming the folder. */
int vl_mkdir_parents(const char *path, mode_t mode, struct vl_error *err);
