/* vmlaunch run: not built yet. */
#include <stdio.h>

#include "launcher/commands.h"
#include "launcher/exit_codes.h"

int cmd_run(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "vmlaunch run: not implemented in this build yet\n");
        return VL_EXIT_NOT_IMPLEMENTED;
}
