#include "hostprep/holders.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostprep/hostprep.h"
#include "hostprep/sysroot.h"
#include "util/array.h"
#include "util/macro.h"

/* Device node prefixes that belong to the group: /dev/dri/card1, /dev/snd/pcmC1D3p, ... */
static int group_nodes(const struct pci_group *group, struct vl_strv *prefixes)
{
        int r = 0;
        for (size_t i = 0; i < group->count && r == 0; i++) {
                const struct pci_device *dev = &group->devices[i];
                struct vl_strv names;
                char dir[PATH_MAX];
                if (streq(dev->driver, "nvidia"))
                        r = vl_strv_push(prefixes, "/dev/nvidia"); /* nvidia0, nvidiactl, -uvm... */
                snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/drm", dev->addr);
                if (r == 0 && sysroot_list_dir(dir, &names) == 0) {
                        for (size_t j = 0; j < names.count && r == 0; j++)
                                if (!strncmp(names.items[j], "card", 4) ||
                                    !strncmp(names.items[j], "renderD", 7))
                                        r = vl_strv_pushf(prefixes, "/dev/dri/%s", names.items[j]);
                        vl_strv_free(&names);
                }
                snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/sound", dev->addr);
                if (r == 0 && sysroot_list_dir(dir, &names) == 0) {
                        for (size_t j = 0; j < names.count && r == 0; j++) {
                                unsigned card;
                                if (sscanf(names.items[j], "card%u", &card) != 1)
                                        continue;
                                r = vl_strv_pushf(prefixes, "/dev/snd/controlC%u", card);
                                if (r == 0)
                                        r = vl_strv_pushf(prefixes, "/dev/snd/pcmC%uD", card);
                                if (r == 0)
                                        r = vl_strv_pushf(prefixes, "/dev/snd/hwC%uD", card);
                        }
                        vl_strv_free(&names);
                }
        }
        return r;
}

static bool node_matches(const char *target, const struct vl_strv *prefixes)
{
        for (size_t i = 0; i < prefixes->count; i++) {
                const char *p = prefixes->items[i];
                size_t n = strlen(p);
                if (strncmp(target, p, n) != 0)
                        continue;
                /* /dev/dri/card1 must not match /dev/dri/card10 */
                if (!strncmp(p, "/dev/dri/", 9) || strstr(p, "/controlC"))
                        return target[n] == '\0';
                return true;
        }
        return false;
}

/* The unit from "0::/system.slice/gdm.service" (cgroup v2) or the name=systemd line;
 * *uid is set for a unit of a user's systemd (".../user@1000.service/app.slice/..."). */
static void unit_of(int pid, char *unit, size_t len, int *uid)
{
        unit[0] = '\0';
        *uid = -1;
        char path[64];
        char *cg = NULL;
        snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
        if (sysroot_read_file(path, &cg) < 0)
                return;
        for (char *line = strtok(cg, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "0::", 3) != 0 && !strstr(line, ":name=systemd:"))
                        continue;
                /* the innermost .service or .scope component */
                char *save = NULL;
                for (char *part = strtok_r(strrchr(line, ':') + 1, "/", &save); part;
                     part = strtok_r(NULL, "/", &save)) {
                        size_t n = strlen(part);
                        unsigned user;
                        char tail[16];
                        if (sscanf(part, "user@%u.%15s", &user, tail) == 2 &&
                            streq(tail, "service"))
                                *uid = (int)user;
                        if ((n > 8 && streq(part + n - 8, ".service")) ||
                            (n > 6 && streq(part + n - 6, ".scope")))
                                snprintf(unit, len, "%s", part);
                }
                break;
        }
        free(cg);
}

/* The parent pid from /proc/PID/stat ("PID (comm) S PPID ..."; comm may hold spaces
 * and parentheses, so read after the last ')'). 0 when unknown. */
static int parent_of(int pid)
{
        char path[64], *stat = NULL;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        if (sysroot_read_file(path, &stat) < 0)
                return 0;
        const char *paren = strrchr(stat, ')');
        int ppid = 0;
        char state;
        if (!paren || sscanf(paren + 1, " %c %d", &state, &ppid) != 2)
                ppid = 0;
        free(stat);
        return ppid;
}

/* The unit of the nearest ancestor of pid outside its own unit (in_unit); "" when none. */
static void starter_of(int pid, const char *in_unit, char *unit, size_t len)
{
        unit[0] = '\0';
        for (int depth = 0; depth < 64; depth++) { /* a bound, should /proc be odd */
                pid = parent_of(pid);
                if (pid <= 1)
                        return;
                char parent_unit[256];
                int uid;
                unit_of(pid, parent_unit, sizeof(parent_unit), &uid);
                if (!streq(parent_unit, in_unit)) {
                        snprintf(unit, len, "%s", parent_unit);
                        return;
                }
        }
}

/* For a process of a session scope: the unit of its nearest ancestor outside the
 * scope. gdm's greeter and the sessions gdm (sddm, lightdm) starts descend from the
 * display manager's session worker, so they end when the display manager stops. */
static void session_starter(const struct gpu_holder *h, char *unit, size_t len)
{
        unit[0] = '\0';
        if (strncmp(h->unit, "session-", 8) == 0)
                starter_of(h->pid, h->unit, unit, len);
}

int holders_user_session_starters(int uid, struct vl_strv *starters)
{
        *starters = (struct vl_strv){0};
        struct vl_strv pids = {0};
        if (sysroot_list_dir("/proc", &pids) < 0)
                return 0;
        char slice[64];
        snprintf(slice, sizeof(slice), "/user-%d.slice/session-", uid);
        int r = 0;
        for (size_t i = 0; i < pids.count && r == 0; i++) {
                char *end, path[64], *cg = NULL;
                long pid = strtol(pids.items[i], &end, 10);
                if (*end || pid <= 1)
                        continue;
                snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
                if (sysroot_read_file(path, &cg) < 0)
                        continue;
                bool in_session = strstr(cg, slice) != NULL;
                free(cg);
                if (!in_session)
                        continue;
                char unit[256], starter[256];
                int ignored;
                unit_of((int)pid, unit, sizeof(unit), &ignored);
                starter_of((int)pid, unit, starter, sizeof(starter));
                bool known = !starter[0];
                for (size_t j = 0; j < starters->count && !known; j++)
                        known = streq(starters->items[j], starter);
                if (!known)
                        r = vl_strv_push(starters, starter);
        }
        vl_strv_free(&pids);
        return r;
}

int holders_scan(const struct pci_group *group, struct gpu_holder **out, size_t *count)
{
        *out = NULL;
        *count = 0;
        size_t cap = 0;
        struct vl_strv prefixes = {0}, pids = {0};
        int r = group_nodes(group, &prefixes);
        if (r < 0 || prefixes.count == 0 || sysroot_list_dir("/proc", &pids) < 0) {
                vl_strv_free(&prefixes);
                return r;
        }
        /* not us: the root's /proc/self names this process on a real host, and no one
         * in a fixture tree, whose pids are made up (its proc/self is a plain folder) */
        char self_pid[32];
        long self = sysroot_link_basename("/proc/self", self_pid, sizeof(self_pid)) == 0
                            ? strtol(self_pid, NULL, 10)
                            : -1;
        for (size_t i = 0; i < pids.count && r == 0; i++) {
                char *end;
                long pid = strtol(pids.items[i], &end, 10);
                if (*end || pid <= 0 || pid == self)
                        continue;
                char dir[64];
                struct vl_strv fds;
                snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
                if (sysroot_list_dir(dir, &fds) < 0)
                        continue; /* exited, or not ours to read */
                for (size_t j = 0; j < fds.count; j++) {
                        char link[PATH_MAX], target[PATH_MAX];
                        snprintf(dir, sizeof(dir), "/proc/%ld/fd/%s", pid, fds.items[j]);
                        if (sysroot_path(link, sizeof(link), "%s", dir) < 0)
                                continue;
                        ssize_t n = readlink(link, target, sizeof(target) - 1);
                        if (n < 0)
                                continue;
                        target[n] = '\0';
                        if (!node_matches(target, &prefixes))
                                continue;
                        if (VL_ARRAY_GROW(*out, cap, *count) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        struct gpu_holder *h = &(*out)[(*count)++];
                        *h = (struct gpu_holder){.pid = (int)pid};
                        snprintf(h->node, sizeof(h->node), "%.*s", (int)sizeof(h->node) - 1,
                                 target);
                        snprintf(dir, sizeof(dir), "/proc/%ld/comm", pid);
                        if (sysroot_read_line(dir, h->comm, sizeof(h->comm)) < 0)
                                snprintf(h->comm, sizeof(h->comm), "?");
                        unit_of((int)pid, h->unit, sizeof(h->unit), &h->user_manager_uid);
                        session_starter(h, h->session_started_by, sizeof(h->session_started_by));
                        break; /* one line per process is enough */
                }
                vl_strv_free(&fds);
        }
        vl_strv_free(&pids);
        vl_strv_free(&prefixes);
        return r;
}

/* Survivors: the holders whose pid did not exit, or that were reported exited but are
 * still there on the rescan (a reused pid: nothing more to wait on). */
static size_t keep_survivors(struct gpu_holder *h, size_t n, const bool *exited, const int *gone,
                             size_t n_gone)
{
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
                bool seen_gone = false;
                for (size_t j = 0; j < n_gone && !seen_gone; j++)
                        seen_gone = gone[j] == h[i].pid;
                if ((exited && !exited[i]) || seen_gone)
                        h[kept++] = h[i];
        }
        return kept;
}

int holders_wait_gone(const struct pci_group *group, const struct hostprep_process_ops *ops,
                      uint64_t deadline_ms, struct gpu_holder **left, size_t *n_left,
                      struct vl_error *err)
{
        *left = NULL;
        *n_left = 0;
        int *gone = NULL; /* pids reported exited so far */
        size_t n_gone = 0;
        for (;;) {
                struct gpu_holder *h = NULL;
                size_t n = 0;
                int r = holders_scan(group, &h, &n);
                if (r < 0) {
                        free(gone);
                        return vl_error_set(err, -r, "scanning /proc for holders of the GPU");
                }
                size_t stale = keep_survivors(h, n, NULL, gone, n_gone);
                if (n == 0 || stale > 0) {
                        free(gone);
                        if (n == 0) {
                                free(h);
                                return 0;
                        }
                        *left = h;
                        *n_left = stale;
                        return -EBUSY;
                }
                int *pids = calloc(n, sizeof(*pids));
                bool *exited = calloc(n, sizeof(*exited));
                int *more = realloc(gone, (n_gone + n) * sizeof(*more));
                if (more)
                        gone = more;
                r = pids && exited && more ? 0 : vl_error_set(err, ENOMEM, "waiting for holders");
                for (size_t i = 0; r == 0 && i < n; i++)
                        pids[i] = h[i].pid;
                if (r == 0)
                        r = ops->wait_exit(ops->userdata, pids, n, deadline_ms, exited, err);
                size_t survivors = r == 0 ? keep_survivors(h, n, exited, NULL, 0) : 0;
                for (size_t i = 0; r == 0 && i < n; i++)
                        if (exited[i])
                                gone[n_gone++] = pids[i];
                free(pids);
                free(exited);
                if (r < 0 || survivors > 0) {
                        free(gone);
                        if (r < 0) {
                                free(h);
                                return r;
                        }
                        *left = h;
                        *n_left = survivors;
                        return -EBUSY;
                }
                free(h); /* all exited: look again for anyone they handed the node to */
        }
}
