/* The default module operations: libkmod. Removal runs in a deadline helper because
 * a module's exit function can hang in the kernel like an unbind can. */
#include <errno.h>
#include <stdio.h>

#include "hostprep/deadline_write.h"
#include "hostprep/dl_kmod.h"
#include "hostprep/hostprep.h"

static int kmod_remove_in_helper(void *arg, struct vl_error *err)
{
        const char *name = arg;
        struct kmod_ctx *kctx = sym_kmod_new(NULL, NULL);
        if (!kctx)
                return vl_error_set(err, ENOMEM, "libkmod");
        struct kmod_module *mod = NULL;
        int r = sym_kmod_module_new_from_name(kctx, name, &mod);
        if (r == 0)
                r = sym_kmod_module_remove_module(mod, 0);
        if (r < 0)
                vl_error_set(err, -r, "remove module %s", name);
        sym_kmod_module_unref(mod);
        sym_kmod_unref(kctx);
        return r;
}

static int kmod_remove(void *userdata, const char *module, unsigned timeout_ms,
                       struct vl_error *err)
{
        (void)userdata;
        /* loaded here, not in the helper, so a missing libkmod is reported plainly */
        int r = dl_kmod_open(err);
        if (r < 0)
                return r;
        char what[128];
        snprintf(what, sizeof(what), "removing module %s", module);
        return deadline_run(what, kmod_remove_in_helper, (void *)module, timeout_ms, err);
}

static int kmod_insert(void *userdata, const char *module, struct vl_error *err)
{
        (void)userdata;
        int r = dl_kmod_open(err);
        if (r < 0)
                return r;
        struct kmod_ctx *kctx = sym_kmod_new(NULL, NULL);
        if (!kctx)
                return vl_error_set(err, ENOMEM, "libkmod");
        struct kmod_module *mod = NULL;
        r = sym_kmod_module_new_from_name(kctx, module, &mod);
        if (r == 0)
                r = sym_kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
        if (r < 0)
                vl_error_set(err, r == -ENOENT ? ENOENT : -r, "load module %s%s", module,
                             r == -ENOENT ? " (is it installed for this kernel?)" : "");
        else if (r > 0) /* blacklisted or similar: libkmod returns a positive reason */
                r = vl_error_set(err, EPERM,
                                 "load module %s: refused by the modprobe configuration", module);
        sym_kmod_module_unref(mod);
        sym_kmod_unref(kctx);
        return r;
}

const struct hostprep_module_ops hostprep_kmod_modules = {
        .remove = kmod_remove,
        .insert = kmod_insert,
};
