#include "launcher/ctl_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "hostprep/hostprep.h"
#include "qmp/qmp.h"
#include "util/cleanup.h"

int ctl_find_running(const char *name, char **run_dir, struct runstate *st, struct vl_error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = runstate_dir(name, &dir, err);
        if (r < 0)
                return r;
        /* The lock, not the state file, says whether it runs: a vmlaunch that was
         * killed leaves its state file behind but not its lock. */
        r = runstate_is_locked(dir);
        if (r < 0)
                return vl_error_set(err, -r, "check the lock in %s", dir);
        if (r == 0)
                return vl_error_set(err, ESRCH, "%s is not running", name);
        r = runstate_read(dir, st, err);
        if (r == -ENOENT)
                return vl_error_set(err, ESRCH, "%s is not running", name);
        if (r < 0)
                return r;
        *run_dir = TAKE_PTR(dir);
        return 0;
}

int ctl_vm_state(const char *name, struct runstate *st, bool *running, struct vl_error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = ctl_find_running(name, &dir, st, err);
        *running = r == 0;
        if (r != -ESRCH)
                return r;
        *st = (struct runstate){0};
        free(dir);
        dir = NULL;
        r = runstate_dir(name, &dir, err);
        if (r < 0)
                return r;
        snprintf(st->state, sizeof(st->state), "%s",
                 hostprep_journal_exists(dir) ? "needs-restore" : "stopped");
        return 0;
}

int ctl_connect(const char *run_dir, struct qmp_client **out, struct vl_error *err)
{
        _cleanup_free_ char *path = runstate_path(run_dir, RUNSTATE_CTL_SOCKET);
        if (!path)
                return -ENOMEM;
        struct qmp_client *c = NULL;
        int r = qmp_connect(path, -1, CTL_CONNECT_TIMEOUT_MS, &c, err);
        if (r >= 0)
                r = qmp_handshake(c, CTL_CONNECT_TIMEOUT_MS, err);
        if (r < 0) {
                qmp_close(c);
                return r;
        }
        *out = c;
        return 0;
}
