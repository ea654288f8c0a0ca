/* QEMU's QMP sockets, created and bound by vmlaunch (root) in its 0700 run dir and
 * handed to QEMU as listening descriptors: QEMU's user needs no access to the dir. */
#pragma once

#include "util/error.h"

/* A listening AF_UNIX socket at PATH, mode 0600, close-on-exec (spawn passes it
 * on explicitly). A socket left by a killed run is replaced. Returns the fd or
 * -errno with err naming the path. */
int monitor_socket_listen(const char *path, struct vl_error *err);
