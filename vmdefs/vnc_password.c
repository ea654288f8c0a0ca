/* [qemu] vnc_password_file: read by root, sent to QEMU over QMP, never on its command
 * line (/proc/PID/cmdline is world-readable). Host access, like files.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "vmdefs/internal.h"
#include "vmdefs/key_parsers.h"

/* Enough to tell "too long" from "at most 8" and a trailing newline from text. */
#define VNC_PASSWORD_READ_MAX 64

int vmdef_read_vnc_password(const char *path, char pw[static VMDEF_VNC_PASSWORD_MAX + 1], char *why,
                            size_t why_len)
{
        pw[0] = '\0';
        /* O_NOFOLLOW: a symlink planted in a user's directory must not make root read
         * (and hand to QEMU) another file; O_NONBLOCK: a FIFO must not hang us. */
        _cleanup_close_ int fd =
                open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 && errno == ELOOP)
                return vmdef_why(why, why_len,
                                 "is a symbolic link; expected the password file itself");
        if (fd < 0)
                return vmdef_why(why, why_len, "%s; expected a file holding the VNC password",
                                 strerror(errno));
        struct stat st;
        if (fstat(fd, &st) < 0)
                return vmdef_why(why, why_len, "cannot stat: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return vmdef_why(why, why_len,
                                 "not a regular file; expected a file holding the VNC password");
        if (st.st_uid != 0 || (st.st_mode & 077))
                return vmdef_why(
                        why, why_len,
                        "%s (uid %u, mode %04o), but it holds a password; fix with chown root:root %s && chmod 600 %s",
                        st.st_uid != 0 ? "not owned by root"
                                       : "readable or writable by its group or others",
                        (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), path, path);
        char text[VNC_PASSWORD_READ_MAX + 1];
        ssize_t n = read(fd, text, VNC_PASSWORD_READ_MAX);
        if (n < 0)
                return vmdef_why(why, why_len, "cannot read: %s", strerror(errno));
        size_t len = (size_t)n;
        if (len && text[len - 1] == '\n')
                len--;
        int r = 0;
        for (size_t i = 0; i < len && r == 0; i++)
                if (text[i] < 0x20 || text[i] > 0x7e)
                        r = vmdef_why(
                                why, why_len,
                                "holds a character that is not printable ASCII; expected a password of 1 to %d printable ASCII characters",
                                VMDEF_VNC_PASSWORD_MAX);
        if (r == 0 && !len)
                r = vmdef_why(why, why_len, "is empty; expected a password of 1 to %d characters",
                              VMDEF_VNC_PASSWORD_MAX);
        if (r == 0 && len > VMDEF_VNC_PASSWORD_MAX)
                r = vmdef_why(
                        why, why_len,
                        "holds %s%zu characters, but VNC passwords are at most %d (its DES authentication would silently use only the first %d); expected a password of 1 to %d characters",
                        n == VNC_PASSWORD_READ_MAX ? "at least " : "", len, VMDEF_VNC_PASSWORD_MAX,
                        VMDEF_VNC_PASSWORD_MAX, VMDEF_VNC_PASSWORD_MAX);
        if (r == 0) {
                memcpy(pw, text, len);
                pw[len] = '\0';
        }
        explicit_bzero(text, sizeof(text));
        return r;
}
