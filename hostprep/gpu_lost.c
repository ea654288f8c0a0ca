/* RUN_DIR/gpu-lost: which GPU functions stay on vfio-pci until the next boot. */
#include "hostprep/gpu_lost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostprep/sysroot.h"
#include "util/cleanup.h"
#include "util/macro.h"
#include "vmdefs/vmdef.h"

int hostprep_boot_id(char *buf, size_t len)
{
        int r = sysroot_read_line("/proc/sys/kernel/random/boot_id", buf, len);
        if (r == 0 && !buf[0])
                r = -EINVAL;
        return r;
}

void hostprep_gpu_lost_free(struct hostprep_gpu_lost *lost)
{
        free(lost->entries);
        *lost = (struct hostprep_gpu_lost){0};
}

static int entry_push(struct hostprep_gpu_lost *lost, const char *addr, const char *reason)
{
        struct hostprep_gpu_lost_entry *more =
                realloc(lost->entries, (lost->count + 1) * sizeof(*more));
        if (!more)
                return -ENOMEM;
        lost->entries = more;
        struct hostprep_gpu_lost_entry *e = &more[lost->count++];
        snprintf(e->addr, sizeof(e->addr), "%s", addr);
        snprintf(e->reason, sizeof(e->reason), "%s", reason);
        return 0;
}

int hostprep_gpu_lost_parse(const char *text, struct hostprep_gpu_lost *out)
{
        *out = (struct hostprep_gpu_lost){0};
        int r = 0;
        for (const char *line = text; r == 0 && line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                char buf[512];
                snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1),
                         line);
                line = end ? end + 1 : NULL;
                if (!buf[0])
                        continue;
                char *sp = strchr(buf, ' ');
                if (!sp) {
                        r = -EINVAL;
                        break;
                }
                *sp = '\0';
                if (streq(buf, "boot_id"))
                        snprintf(out->boot_id, sizeof(out->boot_id), "%s", sp + 1);
                else if (strlen(buf) < sizeof(out->entries->addr))
                        r = entry_push(out, buf, sp + 1);
                else
                        r = -EINVAL;
        }
        if (r == 0 && !out->boot_id[0])
                r = -EINVAL;
        if (r < 0)
                hostprep_gpu_lost_free(out);
        return r;
}

static void record_path(char *buf, size_t len, const char *run_dir)
{
        snprintf(buf, len, "%s/" GPU_LOST_FILE, run_dir);
}

int hostprep_gpu_lost_read(const char *run_dir, struct hostprep_gpu_lost *out, bool *stale)
{
        *out = (struct hostprep_gpu_lost){0};
        *stale = false;
        char path[PATH_MAX], boot[64];
        record_path(path, sizeof(path), run_dir);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        char text[8192];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        int r = hostprep_gpu_lost_parse(text, out);
        if (r < 0)
                return r;
        /* no boot ID to compare with: keep the record (refusing is the safe side) */
        if (hostprep_boot_id(boot, sizeof(boot)) == 0 && !streq(boot, out->boot_id)) {
                *stale = true;
                hostprep_gpu_lost_free(out);
                return 0;
        }
        return 1;
}

const struct hostprep_gpu_lost_entry *hostprep_gpu_lost_find(const struct hostprep_gpu_lost *lost,
                                                             const char *addr)
{
        for (size_t i = 0; i < lost->count; i++)
                if (streq(lost->entries[i].addr, addr))
                        return &lost->entries[i];
        return NULL;
}

int hostprep_gpu_lost_add(const char *run_dir, const struct hostprep_gpu_lost_entry *entries,
                          size_t n, struct vl_error *err)
{
        struct hostprep_gpu_lost old;
        bool stale;
        char boot[64] = "unknown";
        hostprep_boot_id(boot, sizeof(boot));
        int r = hostprep_gpu_lost_read(run_dir, &old, &stale);
        if (r < 0)
                old = (struct hostprep_gpu_lost){0};
        for (size_t i = 0; i < n; i++)
                if (!hostprep_gpu_lost_find(&old, entries[i].addr) &&
                    entry_push(&old, entries[i].addr, entries[i].reason) < 0) {
                        hostprep_gpu_lost_free(&old);
                        return vl_error_set(err, ENOMEM, "gpu-lost record");
                }
        char path[PATH_MAX], tmp[PATH_MAX + 8];
        record_path(path, sizeof(path), run_dir);
        snprintf(tmp, sizeof(tmp), "%s.new", path);
        r = 0;
        FILE *f = fopen(tmp, "we");
        if (!f) {
                r = vl_error_set(err, errno, "create %s", tmp);
        } else {
                fprintf(f, "boot_id %s\n", boot);
                for (size_t i = 0; i < old.count; i++)
                        fprintf(f, "%s %s\n", old.entries[i].addr, old.entries[i].reason);
                if (fflush(f) != 0 || fsync(fileno(f)) < 0)
                        r = vl_error_set(err, errno, "write %s", tmp);
                if (fclose(f) != 0 && r == 0)
                        r = vl_error_set(err, errno, "write %s", tmp);
                if (r == 0 && rename(tmp, path) < 0)
                        r = vl_error_set(err, errno, "rename %s to %s", tmp, path);
                if (r < 0)
                        unlink(tmp);
        }
        hostprep_gpu_lost_free(&old);
        return r;
}

/* "0000:06:00.0" and "0000:06:00.1" are one card: the same slot. */
static bool same_slot(const char *a, const char *b)
{
        const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
        return da && db && da - a == db - b && !strncmp(a, b, (size_t)(da - a));
}

int hostprep_gpu_lost_add_card(const char *run_dir, const char *addr, const char *reason,
                               const char *const *group, size_t n, struct vl_error *err)
{
        struct hostprep_gpu_lost_entry *entries = calloc(n + 1, sizeof(*entries));
        if (!entries)
                return vl_error_set(err, ENOMEM, "gpu-lost record");
        size_t count = 0;
        snprintf(entries[count].addr, sizeof(entries[count].addr), "%s", addr);
        snprintf(entries[count].reason, sizeof(entries[count].reason), "%s", reason);
        count++;
        for (size_t i = 0; i < n; i++) {
                if (streq(group[i], addr) || !same_slot(group[i], addr))
                        continue;
                snprintf(entries[count].addr, sizeof(entries[count].addr), "%s", group[i]);
                snprintf(entries[count].reason, sizeof(entries[count].reason),
                         "on the same card as %s", addr);
                count++;
        }
        int r = hostprep_gpu_lost_add(run_dir, entries, count, err);
        free(entries);
        return r;
}

int hostprep_gpu_lost_blocks(const char *run_dir, const struct vm_def *def, bool remove_stale,
                             struct vl_error *err)
{
        if (!def->has_gpu)
                return 0;
        char gpu[16], root[PATH_MAX];
        vmdef_pci_addr_format(&def->gpu_address, gpu);
        snprintf(root, sizeof(root), "%s", run_dir);
        char *slash = strrchr(root, '/');
        if (!slash)
                return 0;
        *slash = '\0';
        DIR *d = opendir(root[0] ? root : "/");
        if (!d)
                return errno == ENOENT ? 0 : vl_error_set(err, errno, "open %s", root);
        int found = 0;
        for (struct dirent *e; !found && (e = readdir(d));) {
                if (e->d_name[0] == '.')
                        continue;
                char dir[PATH_MAX + 256];
                snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
                struct hostprep_gpu_lost lost;
                bool stale;
                int r = hostprep_gpu_lost_read(dir, &lost, &stale);
                if (r == 0 && stale && remove_stale) {
                        char path[PATH_MAX + 512];
                        record_path(path, sizeof(path), dir);
                        unlink(path);
                        rmdir(dir); /* the record was what kept an ended run's dir */
                }
                if (r <= 0)
                        continue;
                for (size_t i = 0; !found && i < lost.count; i++) {
                        if (!same_slot(lost.entries[i].addr, gpu))
                                continue;
                        found = 1;
                        vl_error_set_plain(
                                err, EHOSTDOWN,
                                "the GPU %s did not come back healthy after a VM (%s: %s) and stays on vfio-pci: this GPU needs a host reboot (record: %s/" GPU_LOST_FILE
                                ")",
                                gpu, lost.entries[i].addr, lost.entries[i].reason, dir);
                }
                hostprep_gpu_lost_free(&lost);
        }
        closedir(d);
        return found;
}
