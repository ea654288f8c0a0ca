/* Reading a definition file: resolve the name, refuse unsafe files, parse, validate. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/macro.h"
#include "util/trusted_path.h"
#include "vmdefs/internal.h"

/* A definition is a page of text; this only stops a wrong path from eating memory. */
#define MAX_DEFINITION_BYTES (16u << 20)
#define DEFAULT_CONFIG_DIR   "/etc/vmlaunch"

char *vmdef_resolve_path(const char *name_or_file, const char *config_dir)
{
        size_t n = strlen(name_or_file);
        char *path = NULL;
        if (strchr(name_or_file, '/') || (n >= 4 && streq(name_or_file + n - 4, ".ini")))
                return strdup(name_or_file);
        if (asprintf(&path, "%s/%s.ini", config_dir ? config_dir : DEFAULT_CONFIG_DIR,
                     name_or_file) < 0)
                return NULL;
        return path;
}

/* Diagnostics in file order (stable: same-line ones keep the order they were found). */
static void sort_by_line(struct vmdef_diags *diags)
{
        for (size_t i = 1; i < diags->count; i++) {
                struct vmdef_diag d = diags->items[i];
                size_t j = i;
                for (; j > 0 && diags->items[j - 1].line > d.line; j--)
                        diags->items[j] = diags->items[j - 1];
                diags->items[j] = d;
        }
}

int vmdef_parse_string(const char *path, const char *text, size_t len, struct vm_def **out,
                       struct vmdef_diags *diags)
{
        struct vmdef_ini ini = {0};
        struct vm_def *def = calloc(1, sizeof(*def));
        int r = -ENOMEM;

        *out = NULL;
        if (!def || !(def->path = strdup(path ? path : "")) || vmdef_set_defaults(def) < 0)
                goto out;
        if ((r = vmdef_ini_read(text, len, &ini, diags)) < 0)
                goto out;
        if (!ini.n_sections && !diags->n_errors) {
                vmdef_diag_add(
                        diags, VMDEF_ERROR, 0, NULL, NULL,
                        "%s; expected a VM definition with sections such as [memory] and [cpu] (see vmlaunch.ini(5))",
                        len == 0          ? "is empty"
                        : ini.saw_content ? "has no sections"
                                          : "has only comments and blank lines");
                r = -EINVAL;
                goto out;
        }
        if ((r = vmdef_apply_ini(&ini, def, diags)) < 0 ||
            (r = vmdef_record_key_lines(&ini, def)) < 0)
                goto out;
        if ((r = vmdef_finish_and_validate(def, &ini, diags)) < 0)
                goto out;
        r = diags->n_errors ? -EINVAL : 0;
        if (r == 0)
                *out = TAKE_PTR(def);
out:
        sort_by_line(diags);
        vmdef_ini_free(&ini);
        vmdef_free(def);
        return r;
}

static int file_error(struct vmdef_diags *diags, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int file_error(struct vmdef_diags *diags, int errnum, const char *fmt, ...)
{
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        vmdef_diag_add(diags, VMDEF_ERROR, 0, NULL, NULL, "%s", msg);
        return -errnum;
}

/* The definition drives root actions (driver binding, module unloading, hooks), so like
 * sshd with its configuration we refuse a file others could have changed. */
static int check_owner(const char *path, const struct stat *st, const struct vmdef_load_opts *opts,
                       struct vmdef_diags *diags)
{
        if (opts && opts->allow_unsafe_owner && geteuid() != 0)
                return 0;
        if (st->st_uid != 0)
                return file_error(
                        diags, EPERM,
                        "owned by uid %u, not root, but it drives root actions; fix with chown root:root %s && chmod 644 %s",
                        (unsigned)st->st_uid, path, path);
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return file_error(
                        diags, EPERM,
                        "writable by %s (mode %04o), but it drives root actions; fix with chown root:root %s && chmod 644 %s",
                        st->st_mode & S_IWOTH ? "others" : "its group",
                        (unsigned)(st->st_mode & 07777), path, path);
        return 0;
}

static int read_all(int fd, size_t size, char **out, size_t *len)
{
        char *buf = malloc(size + 1);
        size_t got = 0;
        if (!buf)
                return -ENOMEM;
        while (got < size) {
                ssize_t n = read(fd, buf + got, size - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        free(buf);
                        return -e;
                }
                if (n == 0)
                        break; /* shrank while reading: take what is there */
                got += (size_t)n;
        }
        buf[got] = '\0';
        *out = buf;
        *len = got;
        return 0;
}

/* Opens the definition for reading without trusting anyone but root with the way to
 * it: a symlink is followed only where only root could have put it, and every folder
 * above the file itself must be root's and not writable by others (a user who can
 * rename a folder on the way can swap the file), or root's and sticky like /tmp. On the descriptors
 * the walk opened, so what was checked is what is read. Returns an fd, or -errno with diags set. */
static int open_checked(const char *path, const struct vmdef_load_opts *opts,
                        struct vmdef_diags *diags)
{
        char abs[PATH_MAX], cwd[PATH_MAX];
        if (path[0] == '/')
                snprintf(abs, sizeof(abs), "%s", path);
        else if (!getcwd(cwd, sizeof(cwd)) ||
                 snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= (int)sizeof(abs))
                return file_error(diags, ENAMETOOLONG, "cannot open: path too long");
        struct vl_trust_opts symlinks = {.mode = VL_TRUST_SYMLINKS};
        struct vl_trusted file;
        struct vl_error err = {0};
        int r = vl_trusted_open(abs, &symlinks, &file, &err);
        if (r == -ENOENT)
                return file_error(
                        diags, ENOENT,
                        "no such file; expected a definition file (a bare NAME is read from the config directory as NAME.ini)");
        if (r == -EPERM)
                return file_error(diags, EPERM, "%s; it drives root actions", err.msg);
        if (r < 0)
                return file_error(diags, -r, "cannot open: %s; expected a readable definition file",
                                  strerror(-r));
        _cleanup_close_ int path_fd = file.fd;
        bool check_dirs = !(opts && opts->allow_unsafe_owner && geteuid() != 0);
        /* A file others own or may write is refused by check_owner() with its own
         * words; for one of root's, every folder on the way must be root's too (a
         * sticky one of root's such as /tmp passes: no one else can swap root's file). */
        if (check_dirs && S_ISREG(file.st.st_mode) && vl_trusted_stat(&file.st)) {
                struct vl_trust_opts owned = {.mode = VL_TRUST_OWNED};
                struct vl_trusted again;
                r = vl_trusted_open(file.path, &owned, &again, &err);
                if (r < 0)
                        return file_error(
                                diags, -r,
                                "in a folder root cannot trust: %s; it drives root actions",
                                err.msg);
                bool same = again.st.st_dev == file.st.st_dev && again.st.st_ino == file.st.st_ino;
                close(again.fd);
                if (!same)
                        return file_error(diags, EAGAIN,
                                          "changed while it was being opened; try again");
        }
        char via[64];
        snprintf(via, sizeof(via), "/proc/self/fd/%d", path_fd);
        /* O_NONBLOCK: a FIFO given by mistake must not hang us; checked by the caller. */
        int fd = S_ISDIR(file.st.st_mode) ? open(via, O_PATH | O_CLOEXEC)
                                          : open(via, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return file_error(diags, errno,
                                  "cannot open: %s; expected a readable definition file",
                                  strerror(errno));
        return fd;
}

int vmdef_load(const char *path, const struct vmdef_load_opts *opts, struct vm_def **out,
               struct vmdef_diags *diags)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        struct stat st;

        *out = NULL;
        fd = open_checked(path, opts, diags);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return file_error(diags, errno, "cannot stat: %s", strerror(errno));
        if (S_ISDIR(st.st_mode))
                return file_error(diags, EISDIR,
                                  "is a directory; expected a definition file such as %s/NAME.ini",
                                  path);
        if (!S_ISREG(st.st_mode))
                return file_error(diags, EINVAL, "not a regular file; expected a definition file");
        int r = check_owner(path, &st, opts, diags);
        if (r < 0)
                return r;
        if ((uint64_t)st.st_size > MAX_DEFINITION_BYTES)
                return file_error(diags, EFBIG,
                                  "is %llu bytes; expected a definition of at most 16 MiB",
                                  (unsigned long long)st.st_size);
        if ((r = read_all(fd, (size_t)st.st_size, &text, &len)) < 0)
                return file_error(diags, -r, "cannot read: %s", strerror(-r));
        return vmdef_parse_string(path, text, len, out, diags);
}
