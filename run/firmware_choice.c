#include "run/firmware_choice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/firmware_descriptors.h"
#include "qemu/firmware_varstore.h"
#include "run/firmware_dirs.h"
#include "util/cleanup.h"

/* OVMF vars files are 128 KiB to 4 MiB; more is not one. */
#define VARS_MAX_BYTES (16 * 1024 * 1024)

static int need_readable(const char *what, const char *path, const char *descriptor,
                         struct vl_error *err)
{
        if (access(path, R_OK) == 0)
                return 0;
        return vl_error_set(err, errno, "%s %s (from %s)", what, path, descriptor);
}

int firmware_choice_resolve(struct vm_def *def, const char *const *dirs, size_t n_dirs,
                            struct firmware_choice *out, struct vl_error *err)
{
        *out = (struct firmware_choice){0};
        if (def->firmware != VMDEF_FIRMWARE_UEFI)
                return 0;
        struct fwdesc *list = NULL;
        size_t n = 0;
        int r = firmware_dirs_load(dirs, n_dirs, &list, &n, err);
        if (r < 0)
                return r;
        struct fwdesc_request req = {
                .machine = def->machine ? def->machine : "q35",
                .secure_boot = def->secure_boot,
                .code = def->ovmf_code,
                .vars_template = def->ovmf_vars_template,
        };
        struct fwdesc_choice choice;
        r = fwdesc_select(list, n, &req, &choice, err);
        if (r == 0 && choice.desc && !def->ovmf_code)
                r = need_readable("code", choice.code, choice.desc->path, err);
        if (r == 0 && choice.desc && !def->ovmf_vars_template)
                r = need_readable("vars_template", choice.vars_template, choice.desc->path, err);
        if (r == 0 && !def->ovmf_code && !(def->ovmf_code = strdup(choice.code)))
                r = vl_error_set(err, ENOMEM, "[firmware] code");
        if (r == 0 && !def->ovmf_vars_template &&
            !(def->ovmf_vars_template = strdup(choice.vars_template)))
                r = vl_error_set(err, ENOMEM, "[firmware] vars_template");
        if (r == 0) {
                out->secure = choice.secure;
                snprintf(out->reason, sizeof(out->reason), "%s", choice.reason);
                snprintf(out->descriptor, sizeof(out->descriptor), "%s",
                         choice.desc ? choice.desc->path : "");
        }
        firmware_dirs_free(list, n);
        return r;
}

int firmware_choice_check_vars(const struct vm_def *def, struct vl_error *err)
{
        if (def->firmware != VMDEF_FIRMWARE_UEFI || !def->secure_boot || !def->ovmf_vars)
                return 0;
        /* Only ever read: the file is the VM's (QEMU's user writes it while it runs). */
        _cleanup_close_ int fd = open(def->ovmf_vars, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT
                               ? 0
                               : vl_error_set(err, errno, "[firmware] vars %s", def->ovmf_vars);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return vl_error_set(err, errno, "[firmware] vars %s", def->ovmf_vars);
        if (!S_ISREG(st.st_mode) || st.st_size > VARS_MAX_BYTES)
                return vl_error_set_plain(err, EINVAL,
                                          "[firmware] vars %s: not an OVMF variables file",
                                          def->ovmf_vars);
        _cleanup_free_ unsigned char *buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return vl_error_set(err, ENOMEM, "[firmware] vars %s", def->ovmf_vars);
        size_t used = 0;
        while (used < (size_t)st.st_size) {
                ssize_t got = read(fd, buf + used, (size_t)st.st_size - used);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return vl_error_set(err, errno, "[firmware] vars %s", def->ovmf_vars);
                if (got == 0)
                        break;
                used += (size_t)got;
        }
        if (firmware_varstore_has_pk(buf, used) == 1)
                return 0;
        /* The file was made from a template without keys (or the guest cleared them):
         * starting it would boot without Secure Boot while the definition says yes. */
        return vl_error_set_plain(
                err, EPERM,
                "[firmware] vars %s holds no enrolled Secure Boot keys (no Platform Key), but secure_boot = yes; move it away to have it made again from %s (its boot entries are lost), or set secure_boot = no",
                def->ovmf_vars, def->ovmf_vars_template ? def->ovmf_vars_template : "the template");
}
