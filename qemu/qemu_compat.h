/* Which QEMU a definition needs: a small table of features and the QEMU
 * release that introduced them, so an old QEMU is refused up front with the
 * feature named instead of failing on an unknown option. */
#pragma once

#include "util/error.h"
#include "vmdefs/vmdef.h"

/* 0 when QEMU `version` (major*10000 + minor*100 + micro) runs everything def
 * asks for; -ENOTSUP naming the first feature it lacks otherwise. */
int qemu_compat_check(const struct vm_def *def, unsigned version, struct vl_error *err);

/* "QEMU emulator version 7.2.22 (Debian ...)" -> 70222. Returns 0 or -EINVAL. */
int qemu_version_parse(const char *text, unsigned *version);
