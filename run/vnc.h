/* VNC: where it listens, and its password, set over QMP before the guest runs. */
#pragma once

#include "qmp/qmp.h"
#include "util/error.h"
#include "vmdefs/vmdef.h"

/* With display = vnc=...: logs where VNC listens and, with [qemu] vnc_password_file,
 * reads the password (root-only file) and sends it with `set_password`. QEMU was
 * started with password=on, so it refuses every client until then. Call while the
 * guest is still paused. Returns 0 or -errno with err set. */
int vnc_set_password(struct qmp_client *qmp, const struct vm_def *def, int timeout_ms,
                     struct vl_error *err);
