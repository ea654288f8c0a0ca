#include "qemu/qemu_env.h"

#include <errno.h>
#include <string.h>

#include "util/macro.h"

static const char *env_lookup(char *const *env, const char *name)
{
        size_t len = strlen(name);
        for (; env && *env; env++)
                if (!strncmp(*env, name, len) && (*env)[len] == '=')
                        return *env;
        return NULL;
}

static bool display_is_a_window(const struct vm_def *def)
{
        return streq(def->display, "gtk") || streq(def->display, "sdl");
}

int qemu_env_build(const struct vm_def *def, const char *user, char *const *parent_env,
                   struct vl_strv *env)
{
        static const char *const window_vars[] = {"DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY",
                                                  "XDG_RUNTIME_DIR"};
        int r = vl_strv_push(env, "PATH=" QEMU_ENV_PATH);
        if (r >= 0)
                r = vl_strv_push(env, "HOME=/");
        if (r >= 0)
                r = vl_strv_pushf(env, "USER=%s", user);
        if (r >= 0)
                r = vl_strv_pushf(env, "LOGNAME=%s", user);
        if (r >= 0)
                r = vl_strv_push(env, "LANG=C.UTF-8");
        const char *tz = env_lookup(parent_env, "TZ");
        if (r >= 0 && tz)
                r = vl_strv_push(env, tz);
        for (size_t i = 0; r >= 0 && display_is_a_window(def) && i < ELEMENTSOF(window_vars); i++) {
                const char *v = env_lookup(parent_env, window_vars[i]);
                if (v)
                        r = vl_strv_push(env, v);
        }
        return r < 0 ? -ENOMEM : 0;
}
