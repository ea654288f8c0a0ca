/* Resolving a path the way root must when it runs or opens something for a user, like
 * sshd's StrictModes and systemd's chase() with CHASE_SAFE, on open descriptors: the
 * walk starts at / and opens one component at a time (O_PATH|O_NOFOLLOW), looking at
 * each with fstat, so what is checked is what is used, whatever is renamed meanwhile.
 *
 * Trusted: owned by root (or by the user running vmlaunch, when that is not root:
 * nobody can gain more than they have) and writable by neither group nor others. A
 * directory writable by others is passed on the way only when it is owned by root and
 * sticky (like /tmp): no one else can rename or remove root's entries in it, so what
 * it holds is trusted only when that is owned by root too.
 *
 * A symlink is followed only when the directory holding it is trusted (only root could
 * have put it there); the directories its target leads through are checked the same way. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "util/error.h"

enum vl_trust_mode {
        /* Every directory on the way and the object itself must be trusted: what root
         * runs (hooks) or reads to decide what to do (definitions, journals), and the
         * directories root creates files in. */
        VL_TRUST_OWNED,
        /* Only the way there is checked: each symlink must sit in a trusted directory.
         * Owners of the directories and of the object do not matter (a user's disk
         * image in their home), but a user's symlink cannot point root elsewhere. */
        VL_TRUST_SYMLINKS,
};

struct vl_trust_opts {
        enum vl_trust_mode mode;
        /* Refuse a symlink as the last component (a hook must be given by its real path). */
        bool no_final_symlink;
        /* Optional: called for each directory looked through on the way (not for the
         * object), with the path walked so far; a negative return stops the walk with it
         * (set err in userdata's own way). */
        int (*visit_dir)(void *userdata, const char *path, const struct stat *st);
        void *userdata;
};

struct vl_trusted {
        int fd;              /* O_PATH|O_CLOEXEC of the object; -1 when the walk failed */
        struct stat st;      /* of the object (a symlink's target, not the link) */
        char path[4096];     /* the object's path with every symlink resolved */
        bool holder_trusted; /* the directory holding the object is trusted */
};

/* Walks path (absolute) to the object. Returns 0 with *out filled (close out->fd), or
 * -errno: -ENOENT when a component is missing, -EPERM when something is not trusted,
 * with err naming the exact path and the command that fixes it. */
int vl_trusted_open(const char *path, const struct vl_trust_opts *opts, struct vl_trusted *out,
                    struct vl_error *err);

/* True when st (of a file or directory) is trusted as the object of a walk. */
bool vl_trusted_stat(const struct stat *st);

/* Says why st at path is not trusted, with the fix (for callers checking a descriptor
 * they opened themselves). Returns -EPERM. */
int vl_trust_refuse(const char *path, const struct stat *st, struct vl_error *err);
