/* The files a definition needs at run time must exist. This and vnc_password.c are the
 * only host access of vmdefs/ besides reading the definition itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vmdefs/internal.h"
#include "vmdefs/key_parsers.h"

static void need_file(struct vmdef_diags *diags, enum vmdef_severity severity, unsigned line,
                      const char *section, const char *key, const char *path, bool block_ok,
                      bool char_ok, const char *what)
{
        struct stat st;
        if (!path)
                return;
        if (stat(path, &st) < 0) {
                vmdef_diag_add(diags, severity, line, section, key, "%s: %s; expected %s", path,
                               strerror(errno), what);
                return;
        }
        bool ok = S_ISREG(st.st_mode) || (block_ok && S_ISBLK(st.st_mode)) ||
                  (char_ok && S_ISCHR(st.st_mode));
        if (!ok)
                vmdef_diag_add(diags, severity, line, section, key, "%s: not a %s; expected %s",
                               path,
                               char_ok    ? "character device"
                               : block_ok ? "file or block device"
                                          : "regular file",
                               what);
}

void vmdef_check_files(const struct vm_def *def, enum vmdef_severity severity,
                       struct vmdef_diags *diags)
{
        char sec[64];
        for (size_t i = 0; i < def->n_disks; i++) {
                const struct vmdef_disk *d = &def->disks[i];
                snprintf(sec, sizeof(sec), "disk.%s", d->id);
                need_file(diags, severity, d->path_line, sec, "path", d->path, true, false,
                          "an existing disk image or block device");
        }
        if (def->firmware == VMDEF_FIRMWARE_UEFI) {
                need_file(diags, severity, vmdef_key_line(def, "firmware", "code"), "firmware",
                          "code", def->ovmf_code, false, false,
                          "the OVMF code file (Debian package ovmf)");
                need_file(diags, severity, vmdef_key_line(def, "firmware", "vars_template"),
                          "firmware", "vars_template", def->ovmf_vars_template, false, false,
                          "the OVMF variables template (Debian package ovmf)");
        }
        need_file(diags, severity, vmdef_key_line(def, "gpu", "romfile"), "gpu", "romfile",
                  def->gpu_romfile, false, false, "an existing VBIOS ROM file");
        need_file(diags, severity, vmdef_key_line(def, "boot", "kernel"), "boot", "kernel",
                  def->kernel, false, false, "an existing kernel image");
        need_file(diags, severity, vmdef_key_line(def, "boot", "initrd"), "boot", "initrd",
                  def->initrd, false, false, "an existing initramfs");
        if (def->vnc_host && def->vnc_password_file) {
                char pw[VMDEF_VNC_PASSWORD_MAX + 1], why[VMDEF_WHY_LEN];
                if (vmdef_read_vnc_password(def->vnc_password_file, pw, why, sizeof(why)) < 0)
                        vmdef_diag_add(diags, severity,
                                       vmdef_key_line(def, "qemu", "vnc_password_file"), "qemu",
                                       "vnc_password_file", "%s: %s", def->vnc_password_file, why);
                explicit_bzero(pw, sizeof(pw));
        }
        for (size_t i = 0; i < def->n_evdev; i++) {
                snprintf(sec, sizeof(sec), "evdev.%s", def->evdev[i].id);
                need_file(diags, severity, def->evdev[i].path_line, sec, "path", def->evdev[i].path,
                          false, true, "an input device under /dev/input");
        }
}
