/* vmlaunch restore: not built yet. */
#include <stdio.h>

#include "launcher/commands.h"
#include "launcher/exit_codes.h"

int cmd_restore(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "vmlaunch restore: not implemented in this build yet\n");
        return VL_EXIT_NOT_IMPLEMENTED;
}
