/* QEMU's whole environment: small and documented (vmlaunch(1), SECURITY), never
 * vmlaunch's own (no NOTIFY_SOCKET, LD_*, or whatever the caller's shell had). */
#pragma once

#include "util/strv.h"
#include "vmdefs/vmdef.h"

#define QEMU_ENV_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Fills env ("K=V" strings) for QEMU running as USER: PATH, HOME=/, USER, LOGNAME,
 * LANG=C.UTF-8, TZ when parent_env has it (the guest's RTC may follow local time),
 * and for display = gtk|sdl the display server's DISPLAY, WAYLAND_DISPLAY,
 * XAUTHORITY, XDG_RUNTIME_DIR from parent_env. Pure. Returns 0 or -ENOMEM. */
int qemu_env_build(const struct vm_def *def, const char *user, char *const *parent_env,
                   struct vl_strv *env);
