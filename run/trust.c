#include "run/trust.h"

#include <errno.h>
#include <string.h>

#include "hostprep/hostprep.h"
#include "run/ovmf_vars.h"
#include "run/swtpm.h"
#include "util/strv.h"

int trust_check(const struct vm_def *def, struct vmdef_diags *diags)
{
        struct vl_strv problems = {0};
        if (hostprep_check_hooks(def, &problems) < 0 ||
            hostprep_check_handover(def, &problems) < 0) {
                vl_strv_free(&problems);
                return -ENOMEM;
        }
        /* the hand-over's lines name their key themselves */
        for (size_t i = 0; i < problems.count; i++) {
                bool hooks = strncmp(problems.items[i], "hooks", 5) == 0;
                vmdef_diag_add(diags, VMDEF_ERROR, hooks ? vmdef_key_line(def, "hooks", "dir") : 0,
                               hooks ? "hooks" : "", hooks ? "dir" : "", "%s", problems.items[i]);
        }
        int n = (int)problems.count;
        vl_strv_free(&problems);
        struct vl_error err = {0};
        if (ovmf_vars_check(def, &err) < 0) {
                /* its message starts with "[firmware] vars" already */
                vmdef_diag_add(diags, VMDEF_ERROR, vmdef_key_line(def, "firmware", "vars"), "", "",
                               "%s", err.msg);
                n++;
        }
        if (swtpm_state_check(def, &err) < 0) {
                vmdef_diag_add(diags, VMDEF_ERROR, vmdef_key_line(def, "tpm", "state_dir"), "", "",
                               "%s", err.msg);
                n++;
        }
        return n;
}
