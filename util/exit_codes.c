#include "util/exit_codes.h"

#include <stddef.h>

#include "util/macro.h"

const char *vl_exit_describe(int code)
{
        static const char *const what[] = {
                [VL_EXIT_OK] = "the guest powered off",
                [VL_EXIT_FAILURE] = "an unexpected error",
                [VL_EXIT_USAGE] = "a bad command line",
                [VL_EXIT_DEFINITION] = "the definition is invalid or unsafe",
                [VL_EXIT_HOST_CHECK] = "this host cannot run the VM",
                [VL_EXIT_PREPARE] = "preparing the host failed and was rolled back",
                [VL_EXIT_QEMU_START] = "QEMU failed to start",
                [VL_EXIT_QEMU_CRASHED] = "QEMU crashed or was killed",
                [VL_EXIT_STOPPED] = "stopped on request",
                [VL_EXIT_RESTORE] = "some host state was not restored (run `vmlaunch restore`)",
                [VL_EXIT_BUSY] = "already running, or a journal waits for `vmlaunch restore`",
                [VL_EXIT_NOT_IMPLEMENTED] = "not implemented",
                [VL_EXIT_TPM_DIED] = "swtpm (the TPM) died while the guest ran",
                [VL_EXIT_NOT_READY] = "the session did not become ready in time",
                [VL_EXIT_TIMEOUT] = "timed out",
                [VL_EXIT_NOT_RUNNING] = "the VM is not running",
                [VL_EXIT_GPU_LOST] = "the GPU did not come back healthy: reboot the host",
        };
        if (code < 0 || (size_t)code >= ELEMENTSOF(what) || !what[code])
                return "an unknown exit code";
        return what[code];
}
