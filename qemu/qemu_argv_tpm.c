/* [tpm]: a TPM 2.0 on the CRB interface (what Windows 11 expects), backed by the
 * swtpm vmlaunch started. QEMU talks to swtpm's control channel over the socket it
 * inherits at QEMU_ARGV_FD_TPM and passes swtpm the data channel itself, so QEMU's
 * user needs no path to a socket. */
#include <errno.h>

#include "qemu/qemu_argv_internal.h"

int argv_add_tpm(struct argv_builder *b)
{
        if (!b->def->tpm_enabled)
                return 0;
        struct optstr chardev = {0};
        optstr_begin(&chardev, "socket,id=chrtpm");
        optstr_addf(&chardev, "fd=%d", QEMU_ARGV_FD_TPM);
        int r = argv_push_option(b, "-chardev", &chardev);
        if (r < 0)
                return r;
        struct optstr tpmdev = {0};
        optstr_begin(&tpmdev, "emulator,id=tpm0,chardev=chrtpm");
        r = argv_push_option(b, "-tpmdev", &tpmdev);
        if (r < 0)
                return r;
        struct optstr device = {0};
        optstr_begin(&device, "tpm-crb,tpmdev=tpm0");
        return argv_push_option(b, "-device", &device);
}
