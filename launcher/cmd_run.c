/* vmlaunch run: the command line; the run itself is run/run.c. */
#include <stdio.h>
#include <string.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "run/run.h"
#include "util/exit_codes.h"

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch run [OPTIONS] NAME|FILE\n\n"
                     "Prepare the host, start QEMU paused, pin its threads, run the guest and\n"
                     "supervise it until it ends, then restore the host. SIGTERM or SIGINT\n"
                     "shut the guest down (ACPI, then quit after the shutdown timeout, then\n"
                     "SIGKILL); a second SIGINT forces it.\n\n"
                     "Options:\n" VL_CLI_DEF_OPTIONS_HELP "  --help                this text\n");
}

int cmd_run(int argc, char **argv)
{
        struct vl_cli_def_opts dopts = {0};
        const char *target = NULL;
        for (int i = 1; i < argc; i++) {
                int r = vl_cli_parse_def_option(argc, argv, &i, &dopts, "run");
                if (r < 0)
                        return VL_EXIT_USAGE;
                if (r > 0)
                        continue;
                if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                        usage(stdout);
                        return VL_EXIT_OK;
                }
                if (vl_cli_take_target("run", "NAME|FILE", argv[i], &target) < 0)
                        return VL_EXIT_USAGE;
        }
        if (!target) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        struct vm_def *def = NULL;
        int ex = vl_cli_load_def(target, &dopts, &def);
        if (ex != VL_EXIT_OK)
                return ex;
        ex = run_vm(def);
        vmdef_free(def);
        return ex;
}
