#include "run/confinement.h"

#include <errno.h>
#include <stdlib.h>

#include "run/spawn.h"
#include "run/swtpm.h"
#include "util/cleanup.h"

static void error_at(const struct vm_def *def, struct vmdef_diags *diags, const char *key,
                     const char *msg)
{
        vmdef_diag_add(diags, VMDEF_ERROR, vmdef_key_line(def, "qemu", key), "qemu", key, "%s",
                       msg);
}

int confinement_check(const struct vm_def *def, const char *version_cache,
                      struct qemu_binary_info *qemu, struct vl_account *user,
                      struct vmdef_diags *diags)
{
        struct vl_error err = {0};
        _cleanup_free_ char *binary = NULL;
        *qemu = (struct qemu_binary_info){0};
        *user = (struct vl_account){0};
        /* user = root is warned about when the definition is loaded (vmdefs). */
        bool user_found = vl_account_lookup(def->qemu_user, user, &err) == 0;
        if (!user_found) {
                if (err.errnum == ENOMEM)
                        return -ENOMEM;
                error_at(def, diags, "user", err.msg);
        }
        /* Even `-version` runs as QEMU's user (so not at all without one): root
         * executes nothing it need not. */
        if (spawn_find_binary(def->qemu_binary, &binary, &err) < 0 ||
            (user_found &&
             qemu_version_cached(binary, user, version_cache, qemu, NULL, &err) < 0)) {
                if (err.errnum == ENOMEM)
                        return -ENOMEM;
                error_at(def, diags, "binary", err.msg);
        } else if (user_found && def->qemu_sandbox && !qemu->seccomp) {
                vmdef_diag_add(
                        diags, VMDEF_ERROR, vmdef_key_line(def, "qemu", "sandbox"), "qemu",
                        "sandbox",
                        "%s has no seccomp support (it refuses -sandbox): use a QEMU built with seccomp (Debian's qemu-system-x86 is) or set sandbox = off",
                        binary);
        }
        if (def->tpm_enabled && swtpm_check_installed(&err) < 0)
                vmdef_diag_add(diags, VMDEF_ERROR, vmdef_key_line(def, "tpm", "enabled"), "tpm",
                               "enabled", "%s", err.msg);
        return 0;
}
