/* Hand QEMU's user ([qemu] user) exactly the files it opens read-write, for the run,
 * and take them back: the GPU group's /dev/vfio/N (made by the vfio step, so this step
 * comes after it), the evdev nodes, the disks that are not read-only, the UEFI vars
 * file and a serial log file. For each, before changing it, the journal gets its path,
 * device and inode, owner, group and mode; then the descriptor the trusted walk opened
 * (util/trusted_path.h: a symlink is followed only where only root could have put it)
 * is given to the user's uid and gid, with owner read-write added when missing. Undo
 * walks to the path the same way and, when it is still the same file, puts owner,
 * group and mode back exactly; a file that is gone is logged, not an error.
 *
 * What QEMU only reads (firmware code, ROM file, kernel, initrd, read-only disks) is
 * not handed over: its user must be able to read it already, and to pass every folder
 * on the way to everything it opens; prepare refuses otherwise, naming the folder and
 * the chmod. Sockets are handed over as descriptors, not here. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include "hostprep/pci.h"
#include "hostprep/steps.h"
#include "hostprep/sysroot.h"
#include "util/account.h"
#include "util/cleanup.h"
#include "util/macro.h"
#include "util/trusted_path.h"
#include "vmdefs/vmdef.h"

enum res_kind { RES_DISK, RES_DEVICE, RES_FILE };

struct resource {
        char path[PATH_MAX / 4]; /* as the definition says; /dev/ goes through the sysroot */
        char what[96];           /* "[disk.system] path", for messages */
        enum res_kind kind;
        bool create;      /* a serial log: created (root's, 0600) when missing */
        bool later;       /* made by an earlier step (/dev/vfio/N): need not exist yet */
        bool if_shut_out; /* only when its mode keeps QEMU's user out (/dev/vfio/vfio) */
};

struct handover_state {
        bool as_root;
        struct vl_account account;
        bool have_account;
        struct resource *res;
        size_t n_res;
        struct vl_strv lines;    /* plan */
        struct vl_strv problems; /* what makes prepare fail */
};

static int add_resource(struct resource **res, size_t *n, const char *path, enum res_kind kind,
                        const char *section, const char *key)
{
        struct resource *more = realloc(*res, (*n + 1) * sizeof(*more));
        if (!more)
                return -ENOMEM;
        *res = more;
        struct resource *r = &more[(*n)++];
        *r = (struct resource){.kind = kind};
        snprintf(r->path, sizeof(r->path), "%s", path);
        snprintf(r->what, sizeof(r->what), "[%s] %s", section, key);
        return 0;
}

static bool is_disk_written(const struct vmdef_disk *d)
{
        return !d->readonly && d->media != VMDEF_MEDIA_CDROM;
}

/* What QEMU opens read-write, in the order it is handed over. */
static int list_resources(const struct vm_def *def, struct resource **res, size_t *n)
{
        *res = NULL;
        *n = 0;
        int r = 0;
        if (def->has_gpu) {
                char addr[16];
                vmdef_pci_addr_format(&def->gpu_address, addr);
                struct pci_group g = {0};
                struct vl_error ignored = {0};
                /* a GPU missing here is reported by the checks and the vfio step */
                if (pci_group_read(addr, &g, &ignored) == 0) {
                        char node[64];
                        snprintf(node, sizeof(node), "/dev/vfio/%s", g.id);
                        r = add_resource(res, n, node, RES_DEVICE, "gpu",
                                         "address, its IOMMU group");
                        if (r == 0)
                                (*res)[*n - 1].later = true;
                        /* The container: udev makes it 0666 on most hosts (opening it
                         * grants nothing without a group); where it did not, QEMU's
                         * user gets it for the run too. */
                        if (r == 0)
                                r = add_resource(res, n, "/dev/vfio/vfio", RES_DEVICE, "gpu",
                                                 "address, the VFIO container");
                        if (r == 0)
                                (*res)[*n - 1].later = (*res)[*n - 1].if_shut_out = true;
                        pci_group_free(&g);
                }
        }
        char section[80];
        for (size_t i = 0; r == 0 && i < def->n_evdev; i++) {
                snprintf(section, sizeof(section), "evdev.%s", def->evdev[i].id);
                r = add_resource(res, n, def->evdev[i].path, RES_DEVICE, section, "path");
        }
        for (size_t i = 0; r == 0 && i < def->n_disks; i++) {
                snprintf(section, sizeof(section), "disk.%s", def->disks[i].id);
                if (is_disk_written(&def->disks[i]))
                        r = add_resource(res, n, def->disks[i].path, RES_DISK, section, "path");
        }
        if (r == 0 && def->firmware == VMDEF_FIRMWARE_UEFI && def->ovmf_vars)
                r = add_resource(res, n, def->ovmf_vars, RES_FILE, "firmware", "vars");
        /* a log file; a device or a descriptor (/dev/stdout, a pty) QEMU opens itself */
        if (r == 0 && def->serial && def->serial[0] == '/' && strncmp(def->serial, "/dev/", 5) &&
            strncmp(def->serial, "/proc/", 6)) {
                r = add_resource(res, n, def->serial, RES_FILE, "qemu", "serial");
                if (r == 0)
                        (*res)[*n - 1].create = true;
        }
        return r;
}

/* Device nodes live under the system root (fixture trees); other files are the
 * user's paths as given. */
static void host_path(const char *path, char *buf, size_t len)
{
        if (strncmp(path, "/dev/", 5) == 0 && sysroot_path(buf, len, "%s", path) == 0)
                return;
        snprintf(buf, len, "%s", path);
}

static int walk(const char *path, struct vl_trusted *t, struct vl_error *err)
{
        char full[PATH_MAX];
        host_path(path, full, sizeof(full));
        struct vl_trust_opts opts = {.mode = VL_TRUST_SYMLINKS};
        return vl_trusted_open(full, &opts, t, err);
}

static const char *kind_wanted(enum res_kind kind)
{
        switch (kind) {
        case RES_DISK:
                return "a regular file or a block device";
        case RES_DEVICE:
                return "a character device";
        default:
                return "a regular file";
        }
}

static bool kind_fits(enum res_kind kind, const struct stat *st)
{
        switch (kind) {
        case RES_DISK:
                return S_ISREG(st->st_mode) || S_ISBLK(st->st_mode);
        case RES_DEVICE:
                return S_ISCHR(st->st_mode);
        default:
                return S_ISREG(st->st_mode);
        }
}

/* Why root must not hand this file over (it was found at t), or 0. */
static int refuse_file(const struct resource *res, const struct vl_trusted *t, struct vl_error *err)
{
        if (!kind_fits(res->kind, &t->st))
                return vl_error_set_plain(err, EINVAL, "%s %s is not %s", res->what, res->path,
                                          kind_wanted(res->kind));
        /* a user's hard link to a file of someone else's would be handed over with it */
        if (S_ISREG(t->st.st_mode) && t->st.st_nlink > 1 && !t->holder_trusted)
                return vl_error_set_plain(
                        err, EPERM,
                        "%s %s has %u hard links and is in a folder others can write; root would hand QEMU's user whatever it links to: give the path of a file with one link",
                        res->what, res->path, (unsigned)t->st.st_nlink);
        return 0;
}

static bool in_groups(const struct vl_account *a, gid_t gid)
{
        for (size_t i = 0; i < a->n_groups; i++)
                if (a->groups[i] == gid)
                        return true;
        return a->gid == gid;
}

/* Whether the account may do bits (4 read, 2 write, 1 search) on st, by owner, group
 * and mode as the kernel decides it (ACLs are not looked at). */
static bool account_may(const struct vl_account *a, const struct stat *st, unsigned bits)
{
        if (a->uid == 0)
                return true;
        unsigned mode = st->st_mode;
        if (st->st_uid == a->uid)
                return ((mode >> 6) & bits) == bits;
        if (in_groups(a, st->st_gid))
                return ((mode >> 3) & bits) == bits;
        return (mode & bits) == bits;
}

/* The folders on the way to path (symlinks resolved) must let the account through, and
 * with read_too the file must be readable by it. Adds a problem otherwise. */
static int check_reach(const struct handover_state *s, const char *what, const char *path,
                       bool read_too, struct vl_strv *problems)
{
        char real[PATH_MAX], full[PATH_MAX];
        host_path(path, full, sizeof(full));
        if (!realpath(full, real))
                return 0; /* missing: said by the checks of the definition's files */
        struct stat st;
        /* a fixture's own folders above its /dev are the test's, not the host's */
        size_t root_len = strncmp(path, "/dev/", 5) == 0 ? strlen(sysroot_get()) : 0;
        if (strncmp(real, sysroot_get(), root_len) != 0)
                root_len = 0;
        for (char *p = strchr(real + root_len + 1, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                int ok = stat(real, &st) == 0 && account_may(&s->account, &st, 1);
                if (!ok)
                        return vl_strv_pushf(
                                problems,
                                "%s %s: QEMU's user %s cannot pass the folder %s (mode %04o, owner uid %u, group %u): fix with `chmod o+x %s`, or move the file",
                                what, path, s->account.name, real, (unsigned)(st.st_mode & 07777),
                                (unsigned)st.st_uid, (unsigned)st.st_gid, real);
                *p = '/';
        }
        if (read_too && stat(real, &st) == 0 && !account_may(&s->account, &st, 4))
                return vl_strv_pushf(
                        problems,
                        "%s %s: QEMU's user %s cannot read it (mode %04o, owner uid %u, group %u); QEMU opens it itself: fix with `chmod o+r %s`",
                        what, path, s->account.name, (unsigned)(st.st_mode & 07777),
                        (unsigned)st.st_uid, (unsigned)st.st_gid, real);
        return 0;
}

static int check_read_only(const struct vm_def *def, struct handover_state *s)
{
        struct vl_strv *p = &s->problems;
        int r = 0;
        if (def->firmware == VMDEF_FIRMWARE_UEFI && def->ovmf_code)
                r = check_reach(s, "[firmware] code", def->ovmf_code, true, p);
        if (r == 0 && def->gpu_romfile)
                r = check_reach(s, "[gpu] romfile", def->gpu_romfile, true, p);
        if (r == 0 && def->kernel)
                r = check_reach(s, "[boot] kernel", def->kernel, true, p);
        if (r == 0 && def->initrd)
                r = check_reach(s, "[boot] initrd", def->initrd, true, p);
        for (size_t i = 0; r == 0 && i < def->n_disks; i++) {
                char what[96];
                snprintf(what, sizeof(what), "[disk.%s] path", def->disks[i].id);
                if (!is_disk_written(&def->disks[i]))
                        r = check_reach(s, what, def->disks[i].path, true, p);
        }
        return r;
}

static void owner_text(const struct stat *st, char *buf, size_t len)
{
        snprintf(buf, len, "%u:%u %04o", (unsigned)st->st_uid, (unsigned)st->st_gid,
                 (unsigned)(st->st_mode & 07777));
}

/* Plan line and problems of one resource. */
static int inspect_resource(struct handover_state *s, const struct resource *res)
{
        struct vl_trusted t;
        struct vl_error err = {0};
        int r = walk(res->path, &t, &err);
        if (r == -ENOENT) {
                const char *when = res->if_shut_out ? "once vfio made it, if its mode keeps it out"
                                   : res->later     ? "once vfio-pci made it"
                                   : res->create    ? "created (root's, 0600) first"
                                                    : "once it exists";
                return vl_strv_pushf(&s->lines, "hand %s (%s) to %s for the run, %s", res->path,
                                     res->what, s->account.name, when);
        }
        if (r < 0)
                return vl_strv_pushf(&s->problems, "%s %s: %s", res->what, res->path, err.msg);
        if (res->create && !S_ISREG(t.st.st_mode)) {
                close(t.fd);
                return vl_strv_pushf(&s->lines, "%s %s is not a regular file: QEMU opens it itself",
                                     res->what, res->path);
        }
        char was[64];
        owner_text(&t.st, was, sizeof(was));
        r = refuse_file(res, &t, &err);
        close(t.fd);
        if (r < 0)
                return vl_strv_push(&s->problems, err.msg);
        r = vl_strv_pushf(&s->lines, "hand %s (%s) to %s for the run (now %s; back after)",
                          res->path, res->what, s->account.name, was);
        if (r == 0)
                r = check_reach(s, res->what, res->path, false, &s->problems);
        return r;
}

static void handover_free(void *state)
{
        struct handover_state *s = state;
        vl_account_free(&s->account);
        free(s->res);
        vl_strv_free(&s->lines);
        vl_strv_free(&s->problems);
        free(s);
}

static int handover_inspect(struct hostprep_ctx *ctx, void **state, struct vl_error *err)
{
        struct handover_state *s = calloc(1, sizeof(*s));
        if (!s)
                return vl_error_set(err, ENOMEM, "handover");
        const struct vm_def *def = ctx->def;
        int r = 0;
        struct vl_error lookup = {0};
        if (streq(def->qemu_user, "root")) {
                s->as_root = true;
        } else if (vl_account_lookup(def->qemu_user, &s->account, &lookup) < 0) {
                r = lookup.errnum == ENOMEM ? -ENOMEM : vl_strv_push(&s->problems, lookup.msg);
        } else {
                s->have_account = true;
                s->as_root = vl_account_is_root(&s->account);
        }
        if (r == 0 && !s->as_root)
                r = list_resources(def, &s->res, &s->n_res);
        for (size_t i = 0; r == 0 && s->have_account && i < s->n_res; i++)
                r = inspect_resource(s, &s->res[i]);
        if (r == 0 && s->have_account && !s->as_root)
                r = check_read_only(def, s);
        if (r < 0) {
                handover_free(s);
                return vl_error_set(err, -r, "handover");
        }
        *state = s;
        return 0;
}

static int handover_describe(struct hostprep_ctx *ctx, const void *state,
                             struct hostprep_plan *plan)
{
        const struct handover_state *s = state;
        if (s->as_root)
                return plan_add(plan, "handover",
                                "nothing handed over: QEMU runs as root ([qemu] user = %s)",
                                ctx->def->qemu_user);
        for (size_t i = 0; i < s->lines.count; i++)
                if (plan_add(plan, "handover", "%s", s->lines.items[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->problems.count; i++)
                if (plan_add(plan, "handover", "refused: %s", s->problems.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int handover_problems(const void *state, struct vl_strv *out)
{
        const struct handover_state *s = state;
        for (size_t i = 0; i < s->problems.count; i++)
                if (vl_strv_push(out, s->problems.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* chmod on an O_PATH descriptor: through /proc/self/fd, which reaches the inode the
 * descriptor holds, not whatever is at the path now. */
static int chmod_fd(int fd, mode_t mode)
{
        char via[64];
        snprintf(via, sizeof(via), "/proc/self/fd/%d", fd);
        return chmod(via, mode) < 0 ? -errno : 0;
}

/* Creates a missing serial log, root's and private, in the folder the walk reached
 * (never following a name planted there). */
static int create_log(const char *path, struct vl_error *err)
{
        char full[PATH_MAX], dir[PATH_MAX];
        host_path(path, full, sizeof(full));
        snprintf(dir, sizeof(dir), "%s", full);
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return vl_error_set_plain(err, EINVAL, "%s: expected a file in a folder", path);
        *slash = '\0';
        struct vl_trust_opts opts = {.mode = VL_TRUST_SYMLINKS};
        struct vl_trusted d;
        int r = vl_trusted_open(dir, &opts, &d, err);
        if (r < 0)
                return r;
        int fd =
                openat(d.fd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        int e = errno;
        close(d.fd);
        if (fd < 0 && e != EEXIST)
                return vl_error_set(err, e, "create %s", path);
        if (fd >= 0)
                close(fd);
        return 0;
}

static int hand_over(struct hostprep_ctx *ctx, const struct handover_state *s,
                     const struct resource *res, struct vl_error *err)
{
        struct vl_trusted t;
        int r = walk(res->path, &t, err);
        if (r == -ENOENT && res->create) {
                /* journaled first: a kill right after leaves a log restore makes root's */
                r = step_journal(ctx, "make the new serial log root's",
                                 (const char *const[]){"path", res->path, "created", "1", "uid",
                                                       "0", "gid", "0", "mode", "600", NULL},
                                 err);
                if (r == 0)
                        r = create_log(res->path, err);
                if (r == 0)
                        r = walk(res->path, &t, err);
        }
        if (r == -ENOENT && res->if_shut_out)
                return 0; /* no container node: QEMU will say so; nothing changed */
        if (r == -ENOENT && res->later)
                return vl_error_set_plain(err, ENOENT, "%s %s does not exist", res->what,
                                          res->path);
        if (r == -ENOENT) { /* QEMU will say it cannot open it; nothing to give back */
                step_log(ctx, LOG_WARNING, "%s %s does not exist; not handed over", res->what,
                         res->path);
                return 0;
        }
        if (r < 0)
                return vl_error_prefix(err, "%s %s", res->what, res->path);
        _cleanup_close_ int fd = t.fd;
        if (res->create && !S_ISREG(t.st.st_mode))
                return 0; /* a FIFO, a device: QEMU opens it itself */
        if ((r = refuse_file(res, &t, err)) < 0)
                return r;
        if (res->if_shut_out && account_may(&s->account, &t.st, 6))
                return 0;
        char dev[32], ino[32], uid[16], gid[16], mode[16], desc[PATH_MAX / 2];
        snprintf(dev, sizeof(dev), "%llu", (unsigned long long)t.st.st_dev);
        snprintf(ino, sizeof(ino), "%llu", (unsigned long long)t.st.st_ino);
        snprintf(uid, sizeof(uid), "%u", (unsigned)t.st.st_uid);
        snprintf(gid, sizeof(gid), "%u", (unsigned)t.st.st_gid);
        snprintf(mode, sizeof(mode), "%o", (unsigned)(t.st.st_mode & 07777));
        snprintf(desc, sizeof(desc), "give %s back to %s:%s mode %s", res->path, uid, gid, mode);
        r = step_journal(ctx, desc,
                         (const char *const[]){"path", res->path, "dev", dev, "ino", ino, "uid",
                                               uid, "gid", gid, "mode", mode, NULL},
                         err);
        if (r < 0)
                return r;
        if (fchownat(fd, "", s->account.uid, s->account.gid, AT_EMPTY_PATH) < 0)
                return vl_error_set(err, errno, "hand %s to %s", res->path, s->account.name);
        /* chown dropped any set-id bit; the owner must read and write it */
        mode_t want = (t.st.st_mode & 0777) | S_IRUSR | S_IWUSR;
        if ((r = chmod_fd(fd, want)) < 0)
                return vl_error_set(err, -r, "make %s readable and writable by %s", res->path,
                                    s->account.name);
        step_log(ctx, LOG_INFO, "handed %s to %s (was %s:%s %s)", res->path, s->account.name, uid,
                 gid, mode);
        return 0;
}

static int handover_apply(struct hostprep_ctx *ctx, void *state, struct vl_error *err)
{
        const struct handover_state *s = state;
        if (s->as_root)
                return 0;
        if (s->problems.count) /* check and run said so before any change */
                return vl_error_set_plain(err, EPERM, "%s", s->problems.items[0]);
        int r = 0;
        for (size_t i = 0; r == 0 && i < s->n_res; i++)
                r = hand_over(ctx, s, &s->res[i], err);
        return r;
}

static int parse_number(const char *s, int base, unsigned long long *out)
{
        if (!s || !*s)
                return -EINVAL;
        char *end;
        errno = 0;
        *out = strtoull(s, &end, base);
        return errno || *end ? -EINVAL : 0;
}

static int handover_undo(struct hostprep_ctx *ctx, const struct journal_record *rec,
                         struct vl_error *err)
{
        const char *path = journal_record_get(rec, "path");
        bool created = journal_record_get(rec, "created") != NULL;
        unsigned long long dev = 0, ino = 0, uid, gid, mode;
        if (!path || parse_number(journal_record_get(rec, "uid"), 10, &uid) < 0 ||
            parse_number(journal_record_get(rec, "gid"), 10, &gid) < 0 ||
            parse_number(journal_record_get(rec, "mode"), 8, &mode) < 0 ||
            (!created && (parse_number(journal_record_get(rec, "dev"), 10, &dev) < 0 ||
                          parse_number(journal_record_get(rec, "ino"), 10, &ino) < 0)))
                return vl_error_set(err, EINVAL,
                                    "handover record without path/dev/ino/uid/gid/mode");
        struct vl_trusted t;
        int r = walk(path, &t, err);
        if (r == -ENOENT) {
                step_log(ctx, LOG_NOTICE, "%s is gone; nothing to give back", path);
                return 0;
        }
        if (r < 0)
                return r;
        _cleanup_close_ int fd = t.fd;
        if (created ? !S_ISREG(t.st.st_mode) || t.st.st_nlink != 1
                    : t.st.st_dev != dev || t.st.st_ino != ino) {
                step_log(ctx, LOG_WARNING,
                         "%s is another file now than the one handed over; left as it is", path);
                return 0;
        }
        if (fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) < 0)
                return vl_error_set(err, errno, "give %s back to %llu:%llu", path, uid, gid);
        if ((r = chmod_fd(fd, (mode_t)mode)) < 0)
                return vl_error_set(err, -r, "give %s its mode %llo back", path, mode);
        if (!created)
                step_log(ctx, LOG_INFO, "gave %s back to %llu:%llu %04llo", path, uid, gid, mode);
        return 0;
}

int hostprep_check_handover(const struct vm_def *def, struct vl_strv *problems)
{
        if (streq(def->qemu_user, "root"))
                return 0;
        struct resource *res;
        size_t n;
        int r = list_resources(def, &res, &n);
        for (size_t i = 0; r == 0 && i < n; i++) {
                struct vl_trusted t;
                struct vl_error err = {0};
                int w = walk(res[i].path, &t, &err);
                if (w == -EPERM)
                        r = vl_strv_pushf(problems, "%s %s: %s", res[i].what, res[i].path, err.msg);
                if (w == 0 && refuse_file(&res[i], &t, &err) == -EPERM)
                        r = vl_strv_push(problems, err.msg);
                if (w == 0)
                        close(t.fd);
        }
        free(res);
        return r;
}

const struct hostprep_step step_handover = {
        .name = "handover",
        .inspect = handover_inspect,
        .describe = handover_describe,
        .apply = handover_apply,
        .undo = handover_undo,
        .free_state = handover_free,
        .problems = handover_problems,
};
