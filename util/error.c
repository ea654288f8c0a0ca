#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int vl_error_set(struct vl_error *err, int errnum, const char *fmt, ...)
{
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
                if (errnum && n >= 0 && (size_t)n < sizeof(err->msg))
                        snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s",
                                 strerror(errnum));
                err->errnum = errnum;
        }
        return errnum ? -errnum : -EINVAL;
}

int vl_error_set_plain(struct vl_error *err, int errnum, const char *fmt, ...)
{
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
                err->errnum = errnum;
        }
        return errnum ? -errnum : -EINVAL;
}

int vl_error_prefix(struct vl_error *err, const char *fmt, ...)
{
        if (!err)
                return -EINVAL;
        char prefix[512], old[sizeof(err->msg)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof(old));
        int n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
        if (n >= (int)sizeof(err->msg)) /* keep the line readable when cut */
                memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
        return err->errnum ? -err->errnum : -EINVAL;
}
