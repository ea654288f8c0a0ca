#include "hostprep_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostprep/sysroot.h"

/* The temp dir of the active fixture; the fake kernel runs in deadline helpers
 * (forked), which see the same tree and this same (read-only) string. */
static char fake_dir[300];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* snprintf into an array, failing the test when it does not fit */
#define PATHF(buf, ...)                                                                            \
        do {                                                                                       \
                if (snprintf(buf, sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf))                   \
                        die("path too long: %s", buf);                                             \
        } while (0)

static void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        fail();
}

static void mkdir_p(const char *path)
{
        char buf[PATH_MAX];
        PATHF(buf, "%s", path);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                mkdir(buf, 0755);
                *p = '/';
        }
        mkdir(buf, 0755);
}

static void parent_dirs(const char *path)
{
        char buf[PATH_MAX];
        PATHF(buf, "%s", path);
        char *slash = strrchr(buf, '/');
        if (slash) {
                *slash = '\0';
                mkdir_p(buf);
        }
}

static void write_text(const char *path, const char *content)
{
        parent_dirs(path);
        FILE *out = fopen(path, "w");
        if (!out)
                die("create %s: %s", path, strerror(errno));
        fputs(content, out);
        fclose(out);
}

/* Writes bytes at offset into a PCI function's 256-byte config space file. */
static void patch_config(const char *path, long offset, const unsigned char *bytes, size_t n)
{
        parent_dirs(path);
        unsigned char config[256] = {0};
        FILE *in = fopen(path, "rb");
        if (in) {
                if (fread(config, 1, sizeof(config), in) == 0)
                        memset(config, 0, sizeof(config));
                fclose(in);
        }
        if (offset < 0 || (size_t)offset + n > sizeof(config))
                die("config bytes beyond 256 at %ld", offset);
        memcpy(config + offset, bytes, n);
        FILE *out = fopen(path, "wb");
        if (!out || fwrite(config, 1, sizeof(config), out) != sizeof(config))
                die("write %s: %s", path, strerror(errno));
        fclose(out);
}

static void make_link(const char *path, const char *target)
{
        parent_dirs(path);
        unlink(path);
        if (symlink(target, path) < 0)
                die("symlink %s: %s", path, strerror(errno));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path)
{
        nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/* ---- manifest ---- */

static void materialize(const char *tmp, const char *name, unsigned depth);

static void apply_line(const char *tmp, char *line, char *base, size_t base_len, unsigned depth)
{
        char *words[16] = {0};
        size_t n = 0;
        char *rest = NULL; /* file content: everything after the path */
        char *save = NULL;
        for (char *w = strtok_r(line, " \t", &save); w && n < 16;
             w = strtok_r(NULL, " \t", &save)) {
                words[n++] = w;
                if (n == 2 && (!strcmp(words[0], "file") || !strcmp(words[0], "append"))) {
                        rest = save;
                        break;
                }
        }
        if (n == 0)
                return;
        char p[PATH_MAX], q[PATH_MAX];
        const char *cmd = words[0];
        if (!strcmp(cmd, "include")) {
                materialize(tmp, words[1], depth + 1);
        } else if (!strcmp(cmd, "stash")) {
                snprintf(base, base_len, "%s/fake/modstash/%s", tmp, words[1]);
        } else if (!strcmp(cmd, "endstash")) {
                snprintf(base, base_len, "%s/root", tmp);
        } else if (!strcmp(cmd, "file")) {
                PATHF(p, "%s/%s", base, words[1]);
                while (rest && (*rest == ' ' || *rest == '\t'))
                        rest++;
                PATHF(q, "%s\n", rest && *rest ? rest : "");
                write_text(p, rest && *rest ? q : "");
        } else if (!strcmp(cmd, "append") && n == 2) {
                /* the text after one separator, indentation kept (/proc/iomem nesting) */
                PATHF(p, "%s/%s", base, words[1]);
                parent_dirs(p);
                FILE *out = fopen(p, "a");
                if (!out)
                        die("append to %s: %s", p, strerror(errno));
                fprintf(out, "%s\n", rest ? rest : "");
                fclose(out);
        } else if (!strcmp(cmd, "link") && n == 3) {
                PATHF(p, "%s/%s", base, words[1]);
                make_link(p, words[2]);
        } else if (!strcmp(cmd, "dir")) {
                PATHF(p, "%s/%s", base, words[1]);
                mkdir_p(p);
        } else if (!strcmp(cmd, "pcidev") && (n == 5 || n == 6)) {
                const char *addr = words[1], *cls = words[2], *group = words[3], *drv = words[4];
                const char *match = n == 6 ? words[5] : drv;
                char dev[PATH_MAX];
                PATHF(dev, "%s/sys/bus/pci/devices/%s", base, addr);
                PATHF(p, "%s/class", dev);
                PATHF(q, "%s\n", cls);
                write_text(p, q);
                PATHF(p, "%s/driver_override", dev);
                write_text(p, "(null)\n");
                /* a function that answers: 1234:1111, no capabilities (pciconfig
                 * lines model real cards) */
                PATHF(p, "%s/config", dev);
                patch_config(p, 0, (const unsigned char[]){0x34, 0x12, 0x11, 0x11}, 4);
                PATHF(p, "%s/iommu_group", dev);
                PATHF(q, "../../../../kernel/iommu_groups/%s", group);
                make_link(p, q);
                PATHF(p, "%s/sys/kernel/iommu_groups/%s/devices/%s", base, group, addr);
                PATHF(q, "../../../../bus/pci/devices/%s", addr);
                make_link(p, q);
                if (strcmp(drv, "-") != 0) {
                        PATHF(p, "%s/driver", dev);
                        PATHF(q, "../../drivers/%s", drv);
                        make_link(p, q);
                        PATHF(p, "%s/sys/bus/pci/drivers/%s/%s", base, drv, addr);
                        PATHF(q, "../../devices/%s", addr);
                        make_link(p, q);
                }
                if (strcmp(match, "-") != 0) {
                        PATHF(p, "%s/fake/match/%s", tmp, addr);
                        PATHF(q, "%s\n", match);
                        write_text(p, q);
                }
        } else if (!strcmp(cmd, "pciconfig") && n >= 4) {
                unsigned char bytes[16];
                for (size_t i = 3; i < n; i++)
                        bytes[i - 3] = (unsigned char)strtoul(words[i], NULL, 16);
                PATHF(p, "%s/sys/bus/pci/devices/%s/config", base, words[1]);
                patch_config(p, strtol(words[2], NULL, 16), bytes, n - 3);
        } else if (!strcmp(cmd, "pcidriver") && n == 3) {
                PATHF(p, "%s/sys/bus/pci/drivers/%s/bind", base, words[1]);
                write_text(p, "");
                PATHF(p, "%s/sys/bus/pci/drivers/%s/unbind", base, words[1]);
                write_text(p, "");
                if (strcmp(words[2], "-") != 0) {
                        PATHF(p, "%s/sys/bus/pci/drivers/%s/module", base, words[1]);
                        PATHF(q, "../../../../module/%s", words[2]);
                        make_link(p, q);
                }
        } else if (!strcmp(cmd, "module") && n >= 3) {
                PATHF(p, "%s/sys/module/%s/refcnt", base, words[1]);
                PATHF(q, "%s\n", words[2]);
                write_text(p, q);
                PATHF(p, "%s/sys/module/%s/holders", base, words[1]);
                mkdir_p(p);
                for (size_t i = 3; i < n; i++) {
                        PATHF(p, "%s/sys/module/%s/holders/%s", base, words[1], words[i]);
                        PATHF(q, "../../%s", words[i]);
                        make_link(p, q);
                }
        } else if (!strcmp(cmd, "platdev") && n == 3) {
                PATHF(p, "%s/sys/bus/platform/devices/%s/driver", base, words[1]);
                PATHF(q, "../../drivers/%s", words[2]);
                make_link(p, q);
                PATHF(p, "%s/sys/bus/platform/drivers/%s/%s", base, words[2], words[1]);
                PATHF(q, "../../devices/%s", words[1]);
                make_link(p, q);
                PATHF(p, "%s/sys/bus/platform/drivers/%s/bind", base, words[2]);
                write_text(p, "");
                PATHF(p, "%s/sys/bus/platform/drivers/%s/unbind", base, words[2]);
                write_text(p, "");
        } else if (!strcmp(cmd, "unit") && (n == 3 || n == 4)) {
                PATHF(p, "%s/fake/units/%s", tmp, words[1]);
                PATHF(q, "%s%s%s\n", words[2], n == 4 ? " " : "", n == 4 ? words[3] : "");
                write_text(p, q);
        } else {
                die("bad manifest line starting with '%s'", cmd);
        }
}

static void materialize(const char *tmp, const char *name, unsigned depth)
{
        if (depth > 8)
                die("manifest include loop at %s", name);
        char path[PATH_MAX];
        PATHF(path, "%s/tests/fixtures/sysfs/%s.tree", getenv("SOURCE_ROOT"), name);
        FILE *in = fopen(path, "r");
        if (!in)
                die("open fixture %s: %s", path, strerror(errno));
        char base[PATH_MAX];
        PATHF(base, "%s/root", tmp);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, in)) > 0) {
                line[strcspn(line, "\n")] = '\0';
                if (line[0] == '#' || line[0] == '\0')
                        continue;
                apply_line(tmp, line, base, sizeof(base), depth);
        }
        free(line);
        fclose(in);
}

/* ---- fake kernel ---- */

static void fake_path(char *buf, size_t len, const char *fmt, ...)
{
        char rel[PATH_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(buf, len, "%s%s", fake_dir, rel);
}

static void root_path(char *buf, size_t len, const char *fmt, ...)
{
        char rel[PATH_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(buf, len, "%s%s", sysroot_get(), rel);
}

static void read_small(const char *path, char *buf, size_t len)
{
        buf[0] = '\0';
        FILE *in = fopen(path, "r");
        if (!in)
                return;
        if (!fgets(buf, (int)len, in))
                buf[0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        fclose(in);
}

static bool link_basename(const char *path, char *buf, size_t len)
{
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return false;
        target[n] = '\0';
        const char *b = strrchr(target, '/');
        snprintf(buf, len, "%s", b ? b + 1 : target);
        return true;
}

static void fake_vfio_node(const char *dev);

static int fake_bind(const char *bus, const char *dev, const char *driver)
{
        char p[PATH_MAX], q[PATH_MAX], drvdir[PATH_MAX];
        root_path(drvdir, sizeof(drvdir), "/sys/bus/%s/drivers/%s", bus, driver);
        struct stat st;
        if (stat(drvdir, &st) < 0)
                return -ENODEV;
        root_path(p, sizeof(p), "/sys/bus/%s/devices/%s/driver", bus, dev);
        if (lstat(p, &st) == 0)
                return -EBUSY;
        PATHF(q, "../../drivers/%s", driver);
        if (symlink(q, p) < 0)
                return -errno;
        PATHF(p, "%s/%s", drvdir, dev);
        PATHF(q, "../../devices/%s", dev);
        if (symlink(q, p) < 0)
                return -errno;
        if (!strcmp(bus, "pci") && !strcmp(driver, "vfio-pci"))
                fake_vfio_node(dev);
        return 0;
}

/* vfio-pci makes /dev/vfio/GROUP (root's, 0600, a character device like the
 * kernel's) for a group once a member is bound to it, and removes it when none is. */
static void fake_vfio_node(const char *dev)
{
        char p[PATH_MAX], group[32], node[PATH_MAX];
        root_path(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", dev);
        if (!link_basename(p, group, sizeof(group)))
                return;
        root_path(node, sizeof(node), "/dev/vfio/%s", group);
        root_path(p, sizeof(p), "/sys/kernel/iommu_groups/%s/devices", group);
        bool bound = false;
        DIR *d = opendir(p);
        for (struct dirent *e; d && (e = readdir(d));) {
                char drv[PATH_MAX], now[128];
                root_path(drv, sizeof(drv), "/sys/bus/pci/devices/%s/driver", e->d_name);
                bound |= e->d_name[0] != '.' && link_basename(drv, now, sizeof(now)) &&
                         !strcmp(now, "vfio-pci");
        }
        if (d)
                closedir(d);
        struct stat st;
        if (bound && lstat(node, &st) < 0) {
                parent_dirs(node);
                if (mknod(node, S_IFCHR | 0600, makedev(1, 3)) < 0)
                        die("mknod %s: %s", node, strerror(errno));
        } else if (!bound) {
                unlink(node);
                root_path(p, sizeof(p), "/dev/vfio");
                rmdir(p); /* when it was the last: the tree is as before */
                root_path(p, sizeof(p), "/dev");
                rmdir(p);
        }
}

static int fake_unbind(const char *bus, const char *dev, const char *driver)
{
        char p[PATH_MAX], now[128];
        root_path(p, sizeof(p), "/sys/bus/%s/devices/%s/driver", bus, dev);
        if (!link_basename(p, now, sizeof(now)) || strcmp(now, driver) != 0)
                return -ENODEV;
        unlink(p);
        root_path(p, sizeof(p), "/sys/bus/%s/drivers/%s/%s", bus, driver, dev);
        unlink(p);
        if (!strcmp(bus, "pci") && !strcmp(driver, "vfio-pci"))
                fake_vfio_node(dev);
        return 0;
}

/* drivers_probe: bind to driver_override, else to the matched driver, if loaded.
 * only: a driver that registers probes the devices without a driver for itself alone
 * (NULL: any driver, as drivers_probe does). */
static int fake_probe(const char *dev, const char *only)
{
        char p[PATH_MAX], want[128], now[128];
        root_path(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", dev);
        if (link_basename(p, now, sizeof(now)))
                return 0;
        root_path(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", dev);
        read_small(p, want, sizeof(want));
        if (!strcmp(want, "(null)") || !want[0]) {
                fake_path(p, sizeof(p), "/match/%s", dev);
                read_small(p, want, sizeof(want));
        }
        if (!want[0] || (only && strcmp(want, only) != 0))
                return 0;
        int r = fake_bind("pci", dev, want);
        return r == -ENODEV ? 0 : r; /* driver not loaded: stays unbound, like the kernel */
}

/* Adds delta to a counter file under the root (a missing file counts as 0). */
static void fake_counter_add(const char *path, long delta)
{
        char full[PATH_MAX], buf[64];
        root_path(full, sizeof(full), "%s", path);
        read_small(full, buf, sizeof(buf));
        long v = strtol(buf, NULL, 10) + delta;
        PATHF(buf, "%ld\n", v > 0 ? v : 0);
        write_text(full, buf);
}

static int fake_hugepages(const char *path, const char *value, struct vl_error *err)
{
        char full[PATH_MAX], buf[64], freep[PATH_MAX];
        root_path(full, sizeof(full), "%s", path);
        read_small(full, buf, sizeof(buf));
        unsigned long before = strtoul(buf, NULL, 10), want = strtoul(value, NULL, 10);
        /* how many more pages the fake memory can give */
        fake_path(freep, sizeof(freep), "/hugepages_obtainable");
        read_small(freep, buf, sizeof(buf));
        bool limited = buf[0] != '\0'; /* no file: plenty of memory */
        unsigned long obtainable = limited ? strtoul(buf, NULL, 10) : 1000000;
        unsigned long got = want > before + obtainable ? before + obtainable : want;
        if (got > before)
                PATHF(buf, "%lu", obtainable - (got - before));
        else
                PATHF(buf, "%lu", obtainable + (before - got));
        FILE *out = limited ? fopen(freep, "w") : NULL;
        if (out) {
                fputs(buf, out);
                fclose(out);
        }
        PATHF(buf, "%lu\n", got);
        /* free_hugepages follows nr_hugepages (nothing uses the pages here) */
        char fp[PATH_MAX];
        PATHF(fp, "%.*s/free_hugepages", (int)(strlen(path) - strlen("/nr_hugepages")), path);
        char freebuf[64];
        char ffull[PATH_MAX];
        root_path(ffull, sizeof(ffull), "%s", fp);
        read_small(ffull, freebuf, sizeof(freebuf));
        unsigned long free_before = strtoul(freebuf, NULL, 10);
        PATHF(freebuf, "%lu\n", free_before + got - before);
        sysroot_write_raw(fp, freebuf, err);
        /* a node's pool is part of the global one: the kernel counts it there too */
        char size[64];
        if (sscanf(path, "/sys/devices/system/node/node%*u/hugepages/%63[^/]/nr_hugepages", size) ==
            1) {
                char global[PATH_MAX];
                PATHF(global, "/sys/kernel/mm/hugepages/%s/nr_hugepages", size);
                fake_counter_add(global, (long)got - (long)before);
                PATHF(global, "/sys/kernel/mm/hugepages/%s/free_hugepages", size);
                fake_counter_add(global, (long)got - (long)before);
        }
        return sysroot_write_raw(path, buf, err);
}

/* A function reset: logged in TMP/fake/resets (one address a line); when the test left
 * TMP/fake/reset_heals/ADDR, the reset brings that config space back (a GPU the reset
 * revives), otherwise the function stays as it is. */
static int fake_reset(const char *addr, struct vl_error *err)
{
        char p[PATH_MAX];
        fake_path(p, sizeof(p), "/resets");
        FILE *log = fopen(p, "a");
        if (log) {
                fprintf(log, "%s\n", addr);
                fclose(log);
        }
        fake_path(p, sizeof(p), "/reset_heals/%s", addr);
        FILE *in = fopen(p, "rb");
        if (!in)
                return 0;
        unsigned char config[256];
        size_t n = fread(config, 1, sizeof(config), in);
        fclose(in);
        root_path(p, sizeof(p), "/sys/bus/pci/devices/%s/config", addr);
        FILE *out = fopen(p, "wb");
        if (!out || fwrite(config, 1, n, out) != n) {
                if (out)
                        fclose(out);
                return vl_error_set(err, EIO, "fake reset of %s", addr);
        }
        fclose(out);
        return 0;
}

static int fake_kernel_write(const char *path, const char *value, struct vl_error *err)
{
        char hang[PATH_MAX], what[PATH_MAX];
        fake_path(hang, sizeof(hang), "/hang");
        read_small(hang, what, sizeof(what));
        if (what[0] && !strcmp(what, path))
                for (;;)
                        pause(); /* a driver stuck in its remove(): the write never returns */

        char bus[32], driver[128], op[32], dev[128];
        PATHF(dev, "%s", value);
        dev[strcspn(dev, "\n")] = '\0';
        int r = 0;
        const char *tail = strrchr(path, '/');
        if (tail && !strcmp(tail, "/driver_override")) {
                char content[160];
                PATHF(content, "%s\n", dev[0] ? dev : "(null)");
                return sysroot_write_raw(path, content, err);
        }
        if (sscanf(path, "/sys/bus/%31[^/]/drivers/%127[^/]/%31s", bus, driver, op) == 3 &&
            (!strcmp(op, "unbind") || !strcmp(op, "bind"))) {
                r = !strcmp(op, "bind") ? fake_bind(bus, dev, driver)
                                        : fake_unbind(bus, dev, driver);
                return r < 0 ? vl_error_set(err, -r, "write '%s' to %s", dev, path) : 0;
        }
        if (!strcmp(path, "/sys/bus/pci/drivers_probe")) {
                r = fake_probe(dev, NULL);
                return r < 0 ? vl_error_set(err, -r, "write '%s' to %s", dev, path) : 0;
        }
        if (!strcmp(path, "/proc/sys/vm/compact_memory"))
                return 0; /* write-only in the kernel: nothing to show */
        char reset_addr[32];
        if (tail && !strcmp(tail, "/reset") &&
            sscanf(path, "/sys/bus/pci/devices/%31[^/]/reset", reset_addr) == 1)
                return fake_reset(reset_addr, err);
        if (tail && !strcmp(tail, "/nr_hugepages"))
                return fake_hugepages(path, value, err);
        /* a sysfs attribute reads back with a newline whatever was written */
        char shown[512];
        PATHF(shown, "%s%s", value, value[0] && value[strlen(value) - 1] == '\n' ? "" : "\n");
        return sysroot_write_raw(path, shown, err);
}

/* ---- fake modules ---- */

static bool dir_is_empty(const char *path)
{
        DIR *d = opendir(path);
        if (!d)
                return true;
        struct dirent *de;
        bool empty = true;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        empty = false;
        closedir(d);
        return empty;
}

static void move(const char *from, const char *to)
{
        parent_dirs(to);
        if (rename(from, to) < 0)
                die("move %s -> %s: %s", from, to, strerror(errno));
}

/* Removes now-empty directories from path (or its first existing parent) up to and
 * including stop. */
static void prune_up(const char *path, const char *stop)
{
        char buf[PATH_MAX];
        PATHF(buf, "%s", path);
        while (strlen(buf) >= strlen(stop)) {
                if (rmdir(buf) < 0 && errno != ENOENT)
                        break;
                char *slash = strrchr(buf, '/');
                if (!slash)
                        break;
                *slash = '\0';
        }
}

static int fake_remove(void *ud, const char *module, unsigned timeout_ms, struct vl_error *err)
{
        (void)ud;
        (void)timeout_ms;
        char mod[PATH_MAX], p[PATH_MAX], stash[PATH_MAX];
        root_path(mod, sizeof(mod), "/sys/module/%s", module);
        fake_path(stash, sizeof(stash), "/modstash/%s", module);
        PATHF(p, "%s/holders", mod);
        struct stat st;
        if (stat(mod, &st) < 0)
                return vl_error_set(err, ENOENT, "remove module %s: not loaded", module);
        if (!dir_is_empty(p))
                return vl_error_set(err, EBUSY, "remove module %s: other modules hold it", module);
        /* its drivers: unbind their devices, then they disappear with the module */
        char drivers[PATH_MAX];
        root_path(drivers, sizeof(drivers), "/sys/bus/pci/drivers");
        DIR *d = opendir(drivers);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                char owner[128], drvdir[PATH_MAX];
                PATHF(drvdir, "%s/%s", drivers, de->d_name);
                PATHF(p, "%s/module", drvdir);
                if (de->d_name[0] == '.' || !link_basename(p, owner, sizeof(owner)) ||
                    strcmp(owner, module) != 0)
                        continue;
                DIR *dd = opendir(drvdir);
                struct dirent *e;
                while (dd && (e = readdir(dd)))
                        if (strlen(e->d_name) == 12 && e->d_name[4] == ':')
                                fake_unbind("pci", e->d_name, de->d_name);
                if (dd)
                        closedir(dd);
                PATHF(p, "%s/sys/bus/pci/drivers/%s", stash, de->d_name);
                move(drvdir, p);
        }
        if (d)
                closedir(d);
        /* the modules it held lose it as a holder */
        char modules[PATH_MAX];
        root_path(modules, sizeof(modules), "/sys/module");
        d = opendir(modules);
        while (d && (de = readdir(d))) {
                PATHF(p, "%s/%s/holders/%s", modules, de->d_name, module);
                if (de->d_name[0] != '.' && unlink(p) == 0) {
                        PATHF(p, "%s/heldby/%s", stash, de->d_name);
                        write_text(p, "");
                }
        }
        if (d)
                closedir(d);
        PATHF(p, "%s/sys/module/%s", stash, module);
        move(mod, p);
        return 0;
}

static int fake_insert(void *ud, const char *module, struct vl_error *err)
{
        (void)ud;
        char mod[PATH_MAX], p[PATH_MAX], q[PATH_MAX], stash[PATH_MAX];
        root_path(mod, sizeof(mod), "/sys/module/%s", module);
        fake_path(stash, sizeof(stash), "/modstash/%s", module);
        struct stat st;
        if (stat(mod, &st) == 0)
                return 0;
        PATHF(p, "%s/sys/module/%s", stash, module);
        if (stat(p, &st) < 0)
                return vl_error_set(err, ENOENT, "load module %s: not found", module);
        move(p, mod);
        prune_up(p, stash);
        char drivers[PATH_MAX], registered[8][NAME_MAX + 1];
        size_t n_registered = 0;
        PATHF(drivers, "%s/sys/bus/pci/drivers", stash);
        DIR *d = opendir(drivers);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                PATHF(p, "%s/%s", drivers, de->d_name);
                root_path(q, sizeof(q), "/sys/bus/pci/drivers/%s", de->d_name);
                move(p, q);
                if (n_registered < 8)
                        snprintf(registered[n_registered++], sizeof(registered[0]), "%s",
                                 de->d_name);
        }
        if (d)
                closedir(d);
        prune_up(drivers, stash);
        PATHF(p, "%s/heldby", stash);
        d = opendir(p);
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                root_path(q, sizeof(q), "/sys/module/%s/holders/%s", de->d_name, module);
                char target[PATH_MAX];
                PATHF(target, "../../%s", module);
                make_link(q, target);
                PATHF(q, "%s/heldby/%s", stash, de->d_name);
                unlink(q);
        }
        if (d)
                closedir(d);
        prune_up(p, stash);
        /* module init registers its drivers, each of which probes the unbound devices */
        char devices[PATH_MAX];
        root_path(devices, sizeof(devices), "/sys/bus/pci/devices");
        d = opendir(devices);
        while (d && (de = readdir(d)))
                for (size_t i = 0; i < n_registered && de->d_name[0] != '.'; i++)
                        fake_probe(de->d_name, registered[i]);
        if (d)
                closedir(d);
        return 0;
}

/* ---- fake units ---- */

static int fake_unit_query(void *ud, const char *unit, enum hostprep_unit_state *state, char **id,
                           struct vl_error *err)
{
        (void)ud;
        (void)err;
        /* the file holds "STATE [REAL-NAME]": display-manager.service is gdm.service */
        char p[PATH_MAX], s[256], name[200] = "";
        fake_path(p, sizeof(p), "/units/%s", unit);
        read_small(p, s, sizeof(s));
        sscanf(s, "%*s %199s", name);
        s[strcspn(s, " ")] = '\0';
        *state = !s[0]                  ? HOSTPREP_UNIT_MISSING
                 : !strcmp(s, "active") ? HOSTPREP_UNIT_ACTIVE
                                        : HOSTPREP_UNIT_INACTIVE;
        *id = s[0] ? strdup(name[0] ? name : unit) : NULL;
        return 0;
}

/* Whether the whitespace-separated list in TMP/fake/NAME holds pid. */
static bool fake_pid_listed(const char *name, int pid)
{
        char p[PATH_MAX], list[256], word[16];
        fake_path(p, sizeof(p), "/%s", name);
        read_small(p, list, sizeof(list));
        PATHF(word, "%d", pid);
        for (char *save = NULL, *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save))
                if (!strcmp(w, word))
                        return true;
        return false;
}

/* The unit in /proc/PID/cgroup under dir ("0::/system.slice/gdm.service" -> gdm.service). */
static void process_unit(const char *dir, const char *pid, char *unit, size_t len)
{
        char p[PATH_MAX], line[512];
        PATHF(p, "%s/%s/cgroup", dir, pid);
        read_small(p, line, sizeof(line));
        const char *slash = strrchr(line, '/');
        snprintf(unit, len, "%s", slash ? slash + 1 : "");
}

static void fake_process_exit(int pid)
{
        char from[PATH_MAX], to[PATH_MAX];
        root_path(from, sizeof(from), "/proc/%d", pid);
        fake_path(to, sizeof(to), "/procstash/%d", pid);
        move(from, to);
}

/* systemd stopping a unit kills its cgroup; starting it starts them again */
static void fake_unit_processes(const char *id, bool stop)
{
        char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX], unit[256];
        if (stop)
                root_path(dir, sizeof(dir), "/proc");
        else
                fake_path(dir, sizeof(dir), "/procstash");
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
                int pid = atoi(de->d_name);
                if (pid <= 0)
                        continue;
                process_unit(dir, de->d_name, unit, sizeof(unit));
                if (strcmp(unit, id) != 0 || (stop && fake_pid_listed("linger", pid)))
                        continue;
                if (stop) {
                        fake_process_exit(pid);
                } else {
                        PATHF(from, "%s/%s", dir, de->d_name);
                        root_path(to, sizeof(to), "/proc/%s", de->d_name);
                        move(from, to);
                }
        }
        if (d)
                closedir(d);
        if (!stop)
                rmdir(dir); /* only when empty: the tree comes back byte-identical */
}

static int fake_wait_exit(void *ud, const int *pids, size_t n, uint64_t deadline_ms, bool *exited,
                          struct vl_error *err)
{
        (void)deadline_ms;
        (void)err;
        struct fixture *f = ud;
        for (size_t i = 0; i < n; i++) {
                char p[PATH_MAX], word[16];
                struct stat st;
                PATHF(word, "%d ", pids[i]);
                strncat(f->waited, word, sizeof(f->waited) - strlen(f->waited) - 1);
                root_path(p, sizeof(p), "/proc/%d", pids[i]);
                exited[i] = stat(p, &st) < 0;
                if (!exited[i] && fake_pid_listed("exits_when_waited", pids[i])) {
                        fake_process_exit(pids[i]);
                        exited[i] = true;
                }
        }
        return 0;
}

static int fake_unit_set(const char *unit, const char *state, struct vl_error *err)
{
        char p[PATH_MAX], line[256], out[300];
        fake_path(p, sizeof(p), "/units/%s", unit);
        if (access(p, F_OK) < 0)
                return vl_error_set(err, ENOENT, "unit %s not found", unit);
        read_small(p, line, sizeof(line));
        const char *alias = strchr(line, ' ');
        PATHF(out, "%s%s\n", state, alias ? alias : "");
        write_text(p, out);
        fake_unit_processes(alias ? alias + 1 : unit, !strcmp(state, "inactive"));
        return 0;
}

/* systemd's AllowedCPUs of a slice: fake/allowed/UNIT, absent when unrestricted */
static int fake_get_allowed_cpus(void *ud, const char *unit, char **cpus, struct vl_error *err)
{
        (void)ud;
        (void)err;
        char p[PATH_MAX], line[256] = "";
        fake_path(p, sizeof(p), "/allowed/%s", unit);
        if (access(p, F_OK) == 0)
                read_small(p, line, sizeof(line));
        line[strcspn(line, "\n")] = '\0';
        *cpus = strdup(line);
        return *cpus ? 0 : -ENOMEM;
}

/* Like systemd, every runtime SetUnitProperties leaves a drop-in under /run/systemd
 * (scopes in transient/, slices in system.control/), also when the value is "". */
static void fake_write_dropin(const char *unit, const char *cpus)
{
        size_t n = strlen(unit);
        bool scope = n > 6 && !strcmp(unit + n - 6, ".scope");
        char p[PATH_MAX], text[300];
        root_path(p, sizeof(p), "/run/systemd/%s/%s.d/50-AllowedCPUs.conf",
                  scope ? "transient" : "system.control", unit);
        parent_dirs(p);
        PATHF(text, "[%s]\nAllowedCPUs=%s\n", scope ? "Scope" : "Slice", cpus);
        write_text(p, text);
}

static int fake_set_allowed_cpus(void *ud, const char *unit, const char *cpus, struct vl_error *err)
{
        (void)ud;
        (void)err;
        char p[PATH_MAX], text[300];
        fake_write_dropin(unit, cpus);
        fake_path(p, sizeof(p), "/allowed/%s", unit);
        if (!*cpus) {
                unlink(p);
                fake_path(p, sizeof(p), "/allowed");
                rmdir(p); /* when empty: the tree comes back byte-identical */
                return 0;
        }
        parent_dirs(p);
        PATHF(text, "%s\n", cpus);
        write_text(p, text);
        return 0;
}

/* fake/sigterm_on_unit_stop: Ctrl-C (here SIGTERM to ourselves) while a unit stops */
static int fake_unit_stop(void *ud, const char *unit, unsigned t, struct vl_error *err)
{
        (void)ud;
        (void)t;
        char p[PATH_MAX];
        fake_path(p, sizeof(p), "/sigterm_on_unit_stop");
        if (access(p, F_OK) == 0)
                kill(getpid(), SIGTERM);
        return fake_unit_set(unit, "inactive", err);
}

static int fake_unit_start(void *ud, const char *unit, unsigned t, struct vl_error *err)
{
        (void)ud;
        (void)t;
        return fake_unit_set(unit, "active", err);
}

/* ---- fixture ---- */

/* A tree with a function already on vfio-pci has its /dev/vfio/GROUP, as a real
 * host would, before anything runs. */
static void fake_vfio_nodes_of_the_tree(void)
{
        char p[PATH_MAX];
        root_path(p, sizeof(p), "/sys/bus/pci/devices");
        DIR *d = opendir(p);
        for (struct dirent *e; d && (e = readdir(d));)
                if (e->d_name[0] != '.')
                        fake_vfio_node(e->d_name);
        if (d)
                closedir(d);
}

void fixture_setup(struct fixture *f, const char *tree_name, const char *ini_text)
{
        memset(f, 0, sizeof(*f));
        const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(f->tmp, sizeof(f->tmp), "%s/vl-hostprep-XXXXXX", base);
        if (!mkdtemp(f->tmp))
                die("mkdtemp: %s", strerror(errno));
        snprintf(f->root, sizeof(f->root), "%s/root", f->tmp);
        snprintf(f->fake, sizeof(f->fake), "%s/fake", f->tmp);
        snprintf(f->run, sizeof(f->run), "%s/run/vm", f->tmp);
        snprintf(f->hooks, sizeof(f->hooks), "%s/hooks", f->tmp);
        mkdir_p(f->root);
        mkdir_p(f->fake);
        materialize(f->tmp, tree_name, 0);
        PATHF(fake_dir, "%s", f->fake);
        sysroot_set(f->root);
        sysroot_set_write_hook(fake_kernel_write);
        fake_vfio_nodes_of_the_tree();

        char ini[8192];
        PATHF(ini, "%s\n[hooks]\ndir = %s\n", ini_text, f->hooks);
        struct vmdef_diags diags = {0};
        /* A definition is named after its file: the file is NAME.ini for `name = NAME`. */
        char def_path[128] = "/etc/vmlaunch/test.ini";
        const char *name = strstr(ini_text, "name = ");
        if (name)
                snprintf(def_path, sizeof(def_path), "/etc/vmlaunch/%.*s.ini",
                         (int)strcspn(name + 7, "\n"), name + 7);
        int r = vmdef_parse_string(def_path, ini, strlen(ini), &f->def, &diags);
        if (r < 0) {
                for (size_t i = 0; i < diags.count; i++) {
                        char line[1024];
                        vmdef_diag_format(&diags.items[i], "test.ini", line, sizeof(line));
                        fprintf(stderr, "%s\n", line);
                }
                vmdef_diags_free(&diags);
                die("test definition does not parse");
        }
        vmdef_diags_free(&diags);

        f->units = (struct hostprep_unit_ops){.query = fake_unit_query,
                                              .stop = fake_unit_stop,
                                              .start = fake_unit_start,
                                              .get_allowed_cpus = fake_get_allowed_cpus,
                                              .set_allowed_cpus = fake_set_allowed_cpus};
        f->modules = (struct hostprep_module_ops){.remove = fake_remove, .insert = fake_insert};
        f->processes = (struct hostprep_process_ops){.userdata = f, .wait_exit = fake_wait_exit};
        f->opts = (struct hostprep_options){.run_dir = f->run,
                                            .units = &f->units,
                                            .modules = &f->modules,
                                            .processes = &f->processes,
                                            .timeout_ms = 2000};
}

void fixture_teardown(struct fixture *f)
{
        vmdef_free(f->def);
        sysroot_set_write_hook(NULL);
        sysroot_set(NULL);
        if (f->tmp[0])
                rm_rf(f->tmp);
}

/* ---- snapshots ---- */

static char **snap_lines;
static size_t snap_count;
static size_t snap_prefix;

static int snap_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)ftw;
        char *line = NULL;
        const char *rel = path + snap_prefix;
        if (flag == FTW_SL) {
                char target[PATH_MAX];
                ssize_t n = readlink(path, target, sizeof(target) - 1);
                target[n > 0 ? n : 0] = '\0';
                if (asprintf(&line, "%s -> %s", rel, target) < 0)
                        line = NULL;
        } else if (flag == FTW_F) {
                char content[512] = "";
                FILE *in = fopen(path, "r");
                size_t n = in ? fread(content, 1, sizeof(content) - 1, in) : 0;
                content[n] = '\0';
                for (char *c = content; *c; c++)
                        if (*c == '\n')
                                *c = '|';
                if (in)
                        fclose(in);
                if (asprintf(&line, "%s = %s (mode %o, owner %u:%u)", rel, content,
                             st->st_mode & 07777, (unsigned)st->st_uid, (unsigned)st->st_gid) < 0)
                        line = NULL;
        } else {
                if (asprintf(&line, "%s/", rel) < 0)
                        line = NULL;
        }
        if (!line)
                return -1;
        snap_lines = realloc(snap_lines, (snap_count + 1) * sizeof(*snap_lines));
        snap_lines[snap_count++] = line;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fixture_snapshot(const struct fixture *f)
{
        snap_lines = NULL;
        snap_count = 0;
        snap_prefix = strlen(f->tmp);
        nftw(f->root, snap_entry, 32, FTW_PHYS);
        nftw(f->fake, snap_entry, 32, FTW_PHYS);
        qsort(snap_lines, snap_count, sizeof(*snap_lines), cmp_str);
        size_t len = 1;
        for (size_t i = 0; i < snap_count; i++)
                len += strlen(snap_lines[i]) + 1;
        char *out = calloc(1, len);
        for (size_t i = 0; i < snap_count; i++) {
                strcat(out, snap_lines[i]);
                strcat(out, "\n");
                free(snap_lines[i]);
        }
        free(snap_lines);
        return out;
}

void fixture_print_diff(const char *before, const char *after)
{
        const char *a = before, *b = after;
        while (*a && *b) {
                const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
                if (!ea || !eb)
                        break;
                if (ea - a != eb - b || strncmp(a, b, (size_t)(ea - a)) != 0) {
                        fprintf(stderr, "first difference:\n  before: %.*s\n  after:  %.*s\n",
                                (int)(ea - a), a, (int)(eb - b), b);
                        return;
                }
                a = ea + 1;
                b = eb + 1;
        }
        fprintf(stderr, "first difference at the end:\n  before: %.200s\n  after:  %.200s\n", a, b);
}

void fixture_read(const struct fixture *f, const char *path, char *buf, size_t len)
{
        char full[PATH_MAX];
        PATHF(full, "%s%s", f->root, path);
        read_small(full, buf, len);
}

void fixture_read_tmp(const struct fixture *f, const char *rel, char *buf, size_t len)
{
        char full[PATH_MAX];
        PATHF(full, "%s/%s", f->tmp, rel);
        buf[0] = '\0';
        if (access(full, F_OK) == 0)
                read_small(full, buf, len);
        buf[strcspn(buf, "\n")] = '\0';
}

void fixture_driver(const struct fixture *f, const char *addr, char *buf, size_t len)
{
        char full[PATH_MAX];
        PATHF(full, "%s/sys/bus/pci/devices/%s/driver", f->root, addr);
        if (!link_basename(full, buf, len))
                buf[0] = '\0';
}

bool fixture_exists(const struct fixture *f, const char *path)
{
        char full[PATH_MAX];
        struct stat st;
        PATHF(full, "%s%s", f->root, path);
        return lstat(full, &st) == 0;
}

void fixture_write_tmp(const struct fixture *f, const char *rel, const char *content)
{
        char full[PATH_MAX];
        PATHF(full, "%s/%s", f->tmp, rel);
        write_text(full, content);
}

char *fixture_plan_text(const struct hostprep_plan *plan)
{
        char *out = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&out, &len);
        for (size_t i = 0; i < plan->count; i++)
                fprintf(mem, "%s: %s\n", plan->items[i].step, plan->items[i].description);
        fclose(mem);
        return out;
}
