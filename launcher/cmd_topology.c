/* vmlaunch topology: not built yet. */
#include <stdio.h>

#include "launcher/commands.h"
#include "launcher/exit_codes.h"

int cmd_topology(int argc, char **argv)
{
        (void)argc;
        (void)argv;
        fprintf(stderr, "vmlaunch topology: not implemented in this build yet\n");
        return VL_EXIT_NOT_IMPLEMENTED;
}
