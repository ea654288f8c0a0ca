/* The trusted walk (util/trusted_path.h): one component at a time on O_PATH
 * descriptors, symlinks expanded by hand so each one is judged by where it sits. */
#include "util/trusted_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

/* As the kernel's own limit on nested symlinks (path_resolution(7)). */
#define MAX_SYMLINKS 40

/* What a directory lets through: entries by anyone, only root's, or nothing trusted. */
enum holder { HOLDER_UNTRUSTED, HOLDER_TRUSTED, HOLDER_STICKY_ROOT };

static bool owner_trusted(uid_t uid)
{
        return uid == 0 || uid == geteuid();
}

bool vl_trusted_stat(const struct stat *st)
{
        return owner_trusted(st->st_uid) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static enum holder holder_of(const struct stat *st)
{
        if (vl_trusted_stat(st))
                return HOLDER_TRUSTED;
        if (S_ISDIR(st->st_mode) && st->st_uid == 0 && (st->st_mode & S_ISVTX))
                return HOLDER_STICKY_ROOT;
        return HOLDER_UNTRUSTED;
}

/* An entry of a directory others may write is trusted only when it is root's. */
static bool entry_allowed(enum holder h, const struct stat *st)
{
        return h == HOLDER_TRUSTED || (h == HOLDER_STICKY_ROOT && owner_trusted(st->st_uid));
}

int vl_trust_refuse(const char *path, const struct stat *st, struct vl_error *err)
{
        bool writable = st->st_mode & (S_IWGRP | S_IWOTH);
        const char *who = st->st_mode & S_IWOTH ? "others" : "its group";
        if (!owner_trusted(st->st_uid) && writable)
                return vl_error_set_plain(
                        err, EPERM,
                        "%s is owned by uid %u, not root, and writable by %s (mode %04o); root runs or opens what it leads to: fix with `chown root:root %s && chmod go-w %s`",
                        path, (unsigned)st->st_uid, who, (unsigned)(st->st_mode & 07777), path,
                        path);
        if (!owner_trusted(st->st_uid))
                return vl_error_set_plain(
                        err, EPERM,
                        "%s is owned by uid %u, not root; root runs or opens what it leads to: fix with `chown root:root %s`",
                        path, (unsigned)st->st_uid, path);
        return vl_error_set_plain(
                err, EPERM,
                "%s is writable by %s (mode %04o); root runs or opens what it leads to: fix with `chmod go-w %s`",
                path, who, (unsigned)(st->st_mode & 07777), path);
}

/* path = dir + "/" + name, for messages and out->path. */
static void join(char *path, size_t len, const char *name)
{
        size_t n = strlen(path);
        snprintf(path + n, len - n, "%s%s", n > 1 ? "/" : (n == 1 ? "" : "/"), name);
}

/* Drops the last component ("/a/b" -> "/a", "/a" -> "/"). */
static void up(char *path)
{
        char *slash = strrchr(path, '/');
        if (slash == path)
                path[1] = '\0';
        else if (slash)
                *slash = '\0';
}

/* Takes the next component of *rest into name: 1, 0 when none is left, -ENAMETOOLONG. */
static int next_component(const char **rest, char *name, size_t len)
{
        const char *p = *rest + strspn(*rest, "/");
        size_t n = strcspn(p, "/");
        if (n == 0)
                return 0;
        if (n >= len)
                return -ENAMETOOLONG;
        memcpy(name, p, n);
        name[n] = '\0';
        *rest = p + n;
        return 1;
}

static bool is_last(const char *rest)
{
        return rest[strspn(rest, "/")] == '\0';
}

struct walk {
        const struct vl_trust_opts *opts;
        int fd;         /* the directory we are in */
        struct stat st; /* of it */
        enum holder holder;
        char path[PATH_MAX];
        char rest[PATH_MAX]; /* what is left to walk */
        unsigned symlinks;
};

static int walk_to_root(struct walk *w, struct vl_error *err)
{
        if (w->fd >= 0)
                close(w->fd);
        w->fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->fd < 0 || fstat(w->fd, &w->st) < 0)
                return vl_error_set(err, errno, "open /");
        snprintf(w->path, sizeof(w->path), "/");
        w->holder = holder_of(&w->st);
        return 0;
}

/* A symlink in the current directory: judged by where it sits, then its target
 * replaces it in what is left to walk. */
static int follow(struct walk *w, int link_fd, const struct stat *lst, const char *name, bool last,
                  const char *rest, struct vl_error *err)
{
        char link_path[PATH_MAX];
        snprintf(link_path, sizeof(link_path), "%s", w->path);
        join(link_path, sizeof(link_path), name);
        char target[PATH_MAX];
        ssize_t n = readlinkat(link_fd, "", target, sizeof(target) - 1);
        if (n < 0)
                return vl_error_set(err, errno, "read the symlink %s", link_path);
        target[n] = '\0';
        if (last && w->opts->no_final_symlink)
                return vl_error_set_plain(
                        err, EPERM,
                        "%s is a symlink (to %s); give the real path instead of the symlink",
                        link_path, target);
        if (!entry_allowed(w->holder, lst))
                return vl_error_set_plain(
                        err, EPERM,
                        "%s is a symlink (to %s) in %s, which someone other than root can change; give the real path instead of the symlink",
                        link_path, target, w->path);
        if (++w->symlinks > MAX_SYMLINKS)
                return vl_error_set(err, ELOOP, "%s", link_path);
        char more[PATH_MAX];
        if (snprintf(more, sizeof(more), "%s/%s", target, rest) >= (int)sizeof(more))
                return vl_error_set(err, ENAMETOOLONG, "%s", link_path);
        snprintf(w->rest, sizeof(w->rest), "%s", more);
        return target[0] == '/' ? walk_to_root(w, err) : 0;
}

/* One step down into name (or up for ".."). */
static int step(struct walk *w, const char *name, bool last, const char *rest,
                struct vl_trusted *out, struct vl_error *err)
{
        if (strcmp(name, ".") == 0)
                return 0;
        _cleanup_close_ int fd = openat(w->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s", w->path);
        if (strcmp(name, "..") == 0)
                up(path); /* a directory we came through, checked already */
        else
                join(path, sizeof(path), name);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return vl_error_set(err, errno, "%s", path);
        if (S_ISLNK(st.st_mode))
                return follow(w, fd, &st, name, last, rest, err);
        bool allowed = w->opts->mode == VL_TRUST_SYMLINKS ||
                       (last ? vl_trusted_stat(&st)
                             : entry_allowed(w->holder, &st) && holder_of(&st) != HOLDER_UNTRUSTED);
        if (!allowed)
                return vl_trust_refuse(path, &st, err);
        if (!last && !S_ISDIR(st.st_mode))
                return vl_error_set(err, ENOTDIR, "%s", path);
        if (last) {
                out->holder_trusted = w->holder == HOLDER_TRUSTED ||
                                      (w->holder == HOLDER_STICKY_ROOT && owner_trusted(st.st_uid));
                out->st = st;
                out->fd = TAKE_FD(fd);
                snprintf(out->path, sizeof(out->path), "%s", path);
                return 0;
        }
        if (w->opts->visit_dir) {
                int r = w->opts->visit_dir(w->opts->userdata, path, &st);
                if (r < 0)
                        return r;
        }
        /* an entry of a sticky directory that is not root's leads nowhere trusted */
        w->holder = entry_allowed(w->holder, &st) ? holder_of(&st) : HOLDER_UNTRUSTED;
        close(w->fd);
        w->fd = TAKE_FD(fd);
        w->st = st;
        snprintf(w->path, sizeof(w->path), "%s", path);
        return 0;
}

int vl_trusted_open(const char *path, const struct vl_trust_opts *opts, struct vl_trusted *out,
                    struct vl_error *err)
{
        *out = (struct vl_trusted){.fd = -1};
        if (!path || path[0] != '/')
                return vl_error_set_plain(err, EINVAL, "%s: expected an absolute path",
                                          path ? path : "(none)");
        struct walk w = {.opts = opts, .fd = -1};
        if (snprintf(w.rest, sizeof(w.rest), "%s", path) >= (int)sizeof(w.rest))
                return vl_error_set(err, ENAMETOOLONG, "%s", path);
        int r = walk_to_root(&w, err);
        if (r == 0 && is_last(w.rest)) { /* "/" itself */
                if (opts->mode == VL_TRUST_OWNED && !vl_trusted_stat(&w.st))
                        r = vl_trust_refuse("/", &w.st, err);
                if (r == 0) {
                        out->fd = TAKE_FD(w.fd);
                        out->st = w.st;
                        out->holder_trusted = true;
                        snprintf(out->path, sizeof(out->path), "/");
                }
        }
        while (r == 0 && out->fd < 0) {
                if (opts->mode == VL_TRUST_OWNED && w.holder == HOLDER_UNTRUSTED) {
                        r = vl_trust_refuse(w.path, &w.st, err);
                        break;
                }
                char name[NAME_MAX + 1], rest[PATH_MAX];
                const char *p = w.rest;
                int more = next_component(&p, name, sizeof(name));
                if (more < 0) {
                        r = vl_error_set(err, -more, "%s", path);
                        break;
                }
                if (!more) {
                        /* a symlink's target ended in the directory we are in */
                        out->holder_trusted = true;
                        out->st = w.st;
                        snprintf(out->path, sizeof(out->path), "%s", w.path);
                        if (opts->mode == VL_TRUST_OWNED && !vl_trusted_stat(&w.st))
                                r = vl_trust_refuse(w.path, &w.st, err);
                        else
                                out->fd = TAKE_FD(w.fd);
                        break;
                }
                snprintf(rest, sizeof(rest), "%s", p);
                snprintf(w.rest, sizeof(w.rest), "%s", rest);
                r = step(&w, name, is_last(rest), rest, out, err);
        }
        if (w.fd >= 0)
                close(w.fd);
        if (r < 0 && out->fd >= 0) {
                close(out->fd);
                out->fd = -1;
        }
        return r;
}
