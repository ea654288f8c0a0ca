#include "run/vnc.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "run/runlog.h"

#define VNC_BASE_PORT 5900
#define WHY_LEN       384

int vnc_set_password(struct qmp_client *qmp, const struct vm_def *def, int timeout_ms,
                     struct vl_error *err)
{
        if (!def->vnc_host)
                return 0;
        runlog(LOG_INFO, "VNC listens on %s port %u (display :%u), %s", def->vnc_host,
               VNC_BASE_PORT + def->vnc_display, def->vnc_display,
               def->vnc_password_file ? "with a password" : "loopback only, no password");
        if (!def->vnc_password_file)
                return 0;
        /* Read again, not kept from `check`: the file is the truth when QEMU starts. */
        char pw[VMDEF_VNC_PASSWORD_MAX + 1], why[WHY_LEN];
        if (vmdef_read_vnc_password(def->vnc_password_file, pw, why, sizeof(why)) < 0)
                return vl_error_set(err, EACCES, "[qemu] vnc_password_file %s: %s",
                                    def->vnc_password_file, why);
        json_object *args = json_object_new_object();
        json_object *secret = json_object_new_string(pw);
        explicit_bzero(pw, sizeof(pw));
        if (!args || !secret) {
                json_object_put(args);
                json_object_put(secret);
                return vl_error_set(err, ENOMEM, "set the VNC password");
        }
        json_object_object_add(args, "protocol", json_object_new_string("vnc"));
        json_object_object_add(args, "password", secret);
        int r = qmp_execute(qmp, "set_password", args, timeout_ms, NULL, err);
        json_object_put(args);
        if (r < 0)
                return vl_error_prefix(err, "set the VNC password (set_password)");
        return 0;
}
