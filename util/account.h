/* A system account looked up by name: who QEMU (and later swtpm) runs as. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct vl_account {
        char *name;
        uid_t uid;
        gid_t gid;     /* primary group */
        gid_t *groups; /* supplementary groups (e.g. kvm), primary included */
        size_t n_groups;
};

/* Looks name up through NSS (passwd and group). A missing account is -ENOENT
 * with a message saying how to create it. */
int vl_account_lookup(const char *name, struct vl_account *out, struct vl_error *err);

void vl_account_free(struct vl_account *a);

static inline int vl_account_is_root(const struct vl_account *a)
{
        return a->uid == 0;
}
