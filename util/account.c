#include "util/account.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#define GROUPS_MAX 256

int vl_account_lookup(const char *name, struct vl_account *out, struct vl_error *err)
{
        *out = (struct vl_account){0};
        errno = 0;
        struct passwd *pw = getpwnam(name);
        if (!pw) {
                if (errno && errno != ENOENT && errno != ESRCH)
                        return vl_error_set(err, errno, "look up user '%s'", name);
                return vl_error_set_plain(
                        err, ENOENT,
                        "user '%s' (QEMU's user) does not exist: create it with `systemd-sysusers` (vmlaunch installs sysusers.d/vmlaunch.conf) or `useradd --system --no-create-home --shell /usr/sbin/nologin --groups kvm %s`, or set [qemu] user",
                        name, name);
        }
        gid_t groups[GROUPS_MAX];
        int n = GROUPS_MAX;
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
                return vl_error_set_plain(err, E2BIG, "user '%s' is in more than %d groups", name,
                                          GROUPS_MAX);
        out->name = strdup(pw->pw_name);
        out->groups = malloc(sizeof(gid_t) * (size_t)(n ? n : 1));
        if (!out->name || !out->groups) {
                vl_account_free(out);
                return vl_error_set(err, ENOMEM, "look up user '%s'", name);
        }
        memcpy(out->groups, groups, sizeof(gid_t) * (size_t)n);
        out->n_groups = (size_t)n;
        out->uid = pw->pw_uid;
        out->gid = pw->pw_gid;
        return 0;
}

void vl_account_free(struct vl_account *a)
{
        free(a->name);
        free(a->groups);
        *a = (struct vl_account){0};
}
