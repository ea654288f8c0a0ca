/* vmlaunch restore: a stub until host preparation lands; harmless when there is
 * nothing to restore, so vmlaunch@.service can always run it (ExecStopPost). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher/commands.h"
#include "launcher/exit_codes.h"
#include "launcher/runstate.h"
#include "util/cleanup.h"

int cmd_restore(int argc, char **argv)
{
        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr, "Usage: vmlaunch restore NAME\n");
                return argc == 2 && !strcmp(argv[1], "--help") ? VL_EXIT_OK : VL_EXIT_USAGE;
        }
        struct vl_error err = {0};
        _cleanup_free_ char *dir = NULL;
        if (runstate_dir(argv[1], &dir, &err) < 0) {
                fprintf(stderr, "vmlaunch restore: %s\n", err.msg);
                return VL_EXIT_USAGE;
        }
        _cleanup_free_ char *journal = runstate_path(dir, "journal");
        if (!journal)
                return VL_EXIT_FAILURE;
        if (access(journal, F_OK) < 0 && errno == ENOENT) {
                fprintf(stderr, "vmlaunch restore: nothing to restore for %s\n", argv[1]);
                return VL_EXIT_OK;
        }
        fprintf(stderr, "vmlaunch restore: %s exists, but this build cannot replay it yet\n",
                journal);
        return VL_EXIT_NOT_IMPLEMENTED;
}
