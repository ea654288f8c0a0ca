/* Error object: library code fills it, only main and the supervisor print it. */
#pragma once

#include <stdarg.h>

struct vl_error {
        int errnum;     /* errno-style cause, 0 when none applies */
        char msg[1024]; /* one line, no trailing newline */
};

/* Sets err (when not NULL) and returns -errnum (or -EINVAL when errnum is 0),
 * so callers can write `return vl_error_set(err, errno, "open %s", path);`.
 * When errnum is non-zero, ": strerror(errnum)" is appended. */
int vl_error_set(struct vl_error *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Like vl_error_set without the ": strerror(errnum)": for messages that already say
 * what happened ("did not finish within 120 s") but must carry the code. */
int vl_error_set_plain(struct vl_error *err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to an error already set, for callers that add
 * which device or file they were working on. */
int vl_error_prefix(struct vl_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
