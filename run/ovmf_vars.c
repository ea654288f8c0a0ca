#include "run/ovmf_vars.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

static int copy_fd(int in, int out)
{
        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : 0;
                for (ssize_t done = 0; done < n;) {
                        ssize_t w = write(out, buf + done, (size_t)(n - done));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        done += w;
                }
        }
}

int ovmf_vars_ensure(const struct vm_def *def, bool *created, struct vl_error *err)
{
        *created = false;
        if (def->firmware != VMDEF_FIRMWARE_UEFI || !def->ovmf_vars || !def->ovmf_vars_template ||
            access(def->ovmf_vars, F_OK) == 0)
                return 0;
        int r = vl_mkdir_parents(def->ovmf_vars, 0700, err);
        if (r < 0)
                return r;
        _cleanup_close_ int in = open(def->ovmf_vars_template, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return vl_error_set(err, errno, "[firmware] vars_template %s",
                                    def->ovmf_vars_template);
        /* Written under a temporary name and renamed, so a crash never leaves a
         * half-copied variable store that OVMF would refuse. */
        char tmp[PATH_MAX];
        if (snprintf(tmp, sizeof(tmp), "%s.new", def->ovmf_vars) >= (int)sizeof(tmp))
                return vl_error_set(err, ENAMETOOLONG, "[firmware] vars %s", def->ovmf_vars);
        _cleanup_close_ int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out < 0)
                return vl_error_set(err, errno, "create %s", tmp);
        r = copy_fd(in, out);
        if (r == 0 && fsync(out) < 0)
                r = -errno;
        if (r == 0 && rename(tmp, def->ovmf_vars) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return vl_error_set(err, -r, "copy %s to %s", def->ovmf_vars_template,
                                    def->ovmf_vars);
        }
        *created = true;
        return 0;
}
