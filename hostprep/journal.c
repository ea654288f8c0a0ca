#include "hostprep/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/array.h"
#include "util/macro.h"
#include "util/trusted_path.h"

struct journal {
        int fd;
        char path[PATH_MAX];
};

static int journal_path(const char *run_dir, char *buf, size_t len)
{
        int n = snprintf(buf, len, "%s/%s", run_dir, JOURNAL_FILE);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static bool needs_escape(unsigned char c)
{
        return c <= ' ' || c == '%' || c == '=' || c >= 0x7f;
}

static int append_escaped(FILE *out, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (needs_escape(*p) ? fprintf(out, "%%%02X", *p) < 0 : fputc(*p, out) == EOF)
                        return -ENOMEM;
        return 0;
}

static int unescape_in_place(char *s)
{
        char *w = s;
        for (char *r = s; *r; r++) {
                if (*r != '%') {
                        *w++ = *r;
                        continue;
                }
                unsigned v;
                if (!r[1] || !r[2] || sscanf(r + 1, "%2x", &v) != 1)
                        return -EINVAL;
                *w++ = (char)v;
                r += 2;
        }
        *w = '\0';
        return 0;
}

static int fsync_dir(const char *dir)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

static int write_line(int fd, const char *line, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, line, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                line += n;
                len -= (size_t)n;
        }
        return fsync(fd) < 0 ? -errno : 0;
}

int journal_create(const char *run_dir, const char *vm_name, struct journal **out,
                   struct vl_error *err)
{
        _cleanup_free_ struct journal *j = calloc(1, sizeof(*j));
        if (!j)
                return vl_error_set(err, ENOMEM, "journal");
        if (journal_path(run_dir, j->path, sizeof(j->path)) < 0)
                return vl_error_set(err, ENAMETOOLONG, "journal in %s", run_dir);
        j->fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
        if (j->fd < 0) {
                int e = errno;
                if (e == EEXIST)
                        return vl_error_set(
                                err, EEXIST,
                                "a journal from an earlier run is at %s; the host may still be prepared: run `vmlaunch restore %s`",
                                j->path, vm_name);
                return vl_error_set(err, e, "create %s", j->path);
        }
        _cleanup_free_ char *line = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&line, &len);
        if (!mem)
                return vl_error_set(err, ENOMEM, "journal");
        fprintf(mem, "vmlaunch-journal %d vm=", JOURNAL_VERSION);
        append_escaped(mem, vm_name);
        fputc('\n', mem);
        fclose(mem);
        int r = write_line(j->fd, line, len);
        if (r == 0)
                r = fsync_dir(run_dir); /* the file's existence must survive a crash too */
        if (r < 0) {
                close(j->fd);
                unlink(j->path);
                return vl_error_set(err, -r, "write %s", j->path);
        }
        *out = TAKE_PTR(j);
        return 0;
}

int journal_append(struct journal *j, const char *step, const char *const *fields,
                   struct vl_error *err)
{
        _cleanup_free_ char *line = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&line, &len);
        if (!mem)
                return vl_error_set(err, ENOMEM, "journal record");
        append_escaped(mem, step);
        for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
                fputc(' ', mem);
                append_escaped(mem, fields[i]);
                fputc('=', mem);
                append_escaped(mem, fields[i + 1]);
        }
        fputc('\n', mem);
        if (fclose(mem) != 0)
                return vl_error_set(err, ENOMEM, "journal record");
        int r = write_line(j->fd, line, len);
        if (r < 0)
                return vl_error_set(err, -r, "append to %s", j->path);
        return 0;
}

void journal_close(struct journal *j)
{
        if (!j)
                return;
        if (j->fd >= 0)
                close(j->fd);
        free(j);
}

bool journal_exists(const char *run_dir)
{
        char path[PATH_MAX];
        return journal_path(run_dir, path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

static void record_free(struct journal_record *rec)
{
        for (size_t i = 0; i < rec->n_fields; i++) {
                free(rec->fields[i].key);
                free(rec->fields[i].value);
        }
        free(rec->fields);
        free(rec->step);
}

void journal_records_free(struct journal_records *recs)
{
        for (size_t i = 0; i < recs->count; i++)
                record_free(&recs->items[i]);
        free(recs->items);
        free(recs->vm_name);
        *recs = (struct journal_records){0};
}

const char *journal_record_get(const struct journal_record *rec, const char *key)
{
        for (size_t i = 0; i < rec->n_fields; i++)
                if (streq(rec->fields[i].key, key))
                        return rec->fields[i].value;
        return NULL;
}

/* Splits "step k=v k=v" into rec. The line is modified. */
static int parse_record(char *line, struct journal_record *rec)
{
        char *save = NULL;
        char *word = strtok_r(line, " ", &save);
        if (!word || unescape_in_place(word) < 0 || !(rec->step = strdup(word)))
                return -EINVAL;
        while ((word = strtok_r(NULL, " ", &save))) {
                char *eq = strchr(word, '=');
                if (!eq)
                        return -EINVAL;
                *eq = '\0';
                if (unescape_in_place(word) < 0 || unescape_in_place(eq + 1) < 0)
                        return -EINVAL;
                if (VL_ARRAY_GROW(rec->fields, rec->cap_fields, rec->n_fields) < 0)
                        return -ENOMEM;
                struct journal_field *f = &rec->fields[rec->n_fields];
                f->key = strdup(word);
                f->value = strdup(eq + 1);
                rec->n_fields++;
                if (!f->key || !f->value)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_header(char *line, const char *path, struct journal_records *out,
                        struct vl_error *err)
{
        int version = 0;
        char vm[256] = "";
        if (sscanf(line, "vmlaunch-journal %d vm=%255s", &version, vm) < 1)
                return vl_error_set(
                        err, EINVAL,
                        "%s does not start with 'vmlaunch-journal VERSION'; it is not a vmlaunch journal",
                        path);
        if (version != JOURNAL_VERSION)
                return vl_error_set(
                        err, EINVAL,
                        "%s has journal version %d; this vmlaunch reads version %d: restore with the vmlaunch that wrote it",
                        path, version, JOURNAL_VERSION);
        if (unescape_in_place(vm) < 0 || !(out->vm_name = strdup(vm)))
                return vl_error_set(err, ENOMEM, "%s", path);
        return 0;
}

int journal_load(const char *run_dir, struct journal_records *out, struct vl_error *err)
{
        *out = (struct journal_records){0};
        char path[PATH_MAX];
        if (journal_path(run_dir, path, sizeof(path)) < 0)
                return vl_error_set(err, ENAMETOOLONG, "journal in %s", run_dir);
        /* Restore acts as root on what the journal says: a run dir or journal that
         * someone else could have written (a planted journal) is refused. */
        struct vl_trust_opts owned = {.mode = VL_TRUST_OWNED};
        struct vl_trusted dir;
        int r = vl_trusted_open(run_dir, &owned, &dir, err);
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0)
                return vl_error_prefix(err, "refusing the journal in %s", run_dir);
        int fd = openat(dir.fd, JOURNAL_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        int e = errno;
        close(dir.fd);
        if (fd < 0 && e == ENOENT)
                return -ENOENT;
        if (fd < 0 && e == ELOOP) /* O_NOFOLLOW met a symlink */
                return vl_error_set_plain(
                        err, EPERM,
                        "refusing the journal: %s is a symlink; a journal is a file of root's, never a symlink",
                        path);
        if (fd < 0)
                return vl_error_set(err, e, "open %s", path);
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !vl_trusted_stat(&st)) {
                r = S_ISREG(st.st_mode)
                            ? vl_trust_refuse(path, &st, err)
                            : vl_error_set_plain(err, EPERM, "%s is not a regular file", path);
                close(fd);
                return vl_error_prefix(err, "refusing the journal");
        }
        _cleanup_fclose_ FILE *f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return vl_error_set(err, ENOMEM, "open %s", path);
        }
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned lineno = 0;
        while ((n = getline(&line, &cap, f)) > 0) {
                lineno++;
                if (line[n - 1] != '\n') {
                        out->torn_tail = true; /* cut by a crash mid-append: never acted on */
                        break;
                }
                line[n - 1] = '\0';
                if (lineno == 1) {
                        r = parse_header(line, path, out, err);
                        if (r < 0)
                                break;
                        continue;
                }
                if (line[0] == '\0')
                        continue;
                if (VL_ARRAY_GROW(out->items, out->cap, out->count) < 0) {
                        r = vl_error_set(err, ENOMEM, "%s", path);
                        break;
                }
                out->items[out->count] = (struct journal_record){0};
                out->count++;
                if (parse_record(line, &out->items[out->count - 1]) < 0) {
                        r = vl_error_set(err, EINVAL, "%s:%u: malformed journal record", path,
                                         lineno);
                        break;
                }
        }
        if (r == 0 && lineno == 0)
                out->torn_tail = true; /* created but the header never reached the disk */
        if (r == 0 && !out->vm_name && !(out->vm_name = strdup("")))
                r = vl_error_set(err, ENOMEM, "%s", path);
        if (r < 0)
                journal_records_free(out);
        return r;
}

int journal_remove(const char *run_dir, struct vl_error *err)
{
        char path[PATH_MAX];
        if (journal_path(run_dir, path, sizeof(path)) < 0)
                return vl_error_set(err, ENAMETOOLONG, "journal in %s", run_dir);
        if (unlink(path) < 0 && errno != ENOENT)
                return vl_error_set(err, errno, "remove %s", path);
        fsync_dir(run_dir);
        return 0;
}
