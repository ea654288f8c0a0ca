#include "run/firmware_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/macro.h"

/* Descriptors are a few KiB; a bigger one is not a descriptor. */
#define DESCRIPTOR_MAX_BYTES (256 * 1024)

struct entry {
        char name[256];
        char path[4096];
        bool hidden;
};

static bool is_json_name(const char *name)
{
        size_t len = strlen(name);
        return name[0] != '.' && len > 5 && streq(name + len - 5, ".json");
}

static struct entry *find_entry(struct entry *e, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(e[i].name, name))
                        return &e[i];
        return NULL;
}

/* Adds dir's descriptors to *entries, replacing entries of the same name. */
static int scan_dir(const char *dir, struct entry **entries, size_t *n, struct vl_error *err)
{
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR
                               ? 0
                               : vl_error_set(err, errno, "open %s", dir);
        int r = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                if (!is_json_name(de->d_name) || strlen(de->d_name) >= sizeof((*entries)->name))
                        continue;
                struct entry *e = find_entry(*entries, *n, de->d_name);
                if (!e) {
                        struct entry *grown = realloc(*entries, (*n + 1) * sizeof(**entries));
                        if (!grown) {
                                r = vl_error_set(err, ENOMEM, "read %s", dir);
                                break;
                        }
                        *entries = grown;
                        e = &grown[(*n)++];
                        snprintf(e->name, sizeof(e->name), "%s", de->d_name);
                }
                snprintf(e->path, sizeof(e->path), "%s/%s", dir, de->d_name);
                struct stat st;
                if (stat(e->path, &st) < 0) {
                        r = vl_error_set(err, errno, "firmware descriptor %s", e->path);
                        break;
                }
                /* An empty file, or a symlink to /dev/null, hides the earlier one. */
                e->hidden = st.st_size == 0;
        }
        if (r == 0 && errno)
                r = vl_error_set(err, errno, "read %s", dir);
        closedir(d);
        return r;
}

static int by_name(const void *a, const void *b)
{
        return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int read_text(const char *path, char **text, struct vl_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return vl_error_set(err, errno, "firmware descriptor %s", path);
        _cleanup_free_ char *buf = malloc(DESCRIPTOR_MAX_BYTES + 1);
        if (!buf)
                return vl_error_set(err, ENOMEM, "firmware descriptor %s", path);
        size_t used = 0;
        for (;;) {
                ssize_t got = read(fd, buf + used, DESCRIPTOR_MAX_BYTES + 1 - used);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return vl_error_set(err, errno, "firmware descriptor %s", path);
                if (got == 0)
                        break;
                used += (size_t)got;
                if (used > DESCRIPTOR_MAX_BYTES)
                        return vl_error_set_plain(err, EFBIG,
                                                  "firmware descriptor %s: larger than %d bytes",
                                                  path, DESCRIPTOR_MAX_BYTES);
        }
        buf[used] = '\0';
        *text = buf;
        buf = NULL;
        return 0;
}

int firmware_dirs_load(const char *const *dirs, size_t n_dirs, struct fwdesc **out, size_t *n_out,
                       struct vl_error *err)
{
        *out = NULL;
        *n_out = 0;
        _cleanup_free_ struct entry *entries = NULL;
        size_t n = 0;
        for (size_t i = 0; i < n_dirs; i++) {
                int r = scan_dir(dirs[i], &entries, &n, err);
                if (r < 0)
                        return r;
        }
        if (n == 0)
                return 0;
        qsort(entries, n, sizeof(*entries), by_name);
        struct fwdesc *list = calloc(n, sizeof(*list));
        if (!list)
                return vl_error_set(err, ENOMEM, "firmware descriptors");
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
                if (entries[i].hidden)
                        continue;
                _cleanup_free_ char *text = NULL;
                int r = read_text(entries[i].path, &text, err);
                if (r == 0)
                        r = fwdesc_parse(entries[i].path, entries[i].name, text, &list[used], err);
                if (r < 0) {
                        firmware_dirs_free(list, used);
                        return r;
                }
                used++;
        }
        *out = list;
        *n_out = used;
        return 0;
}

void firmware_dirs_free(struct fwdesc *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fwdesc_free(&list[i]);
        free(list);
}
