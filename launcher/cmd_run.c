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

static const struct option run_options[] = {
        {"help", no_argument, NULL, 'h'},
        VL_CLI_DEF_LONG_OPTIONS,
        {0},
};

int cmd_run(int argc, char **argv)
{
        struct vl_cli_def_opts dopts = {0};
        const char *target = NULL;

        struct vl_cli_parser p = vl_cli_parser("run", argc, argv, "-:h", run_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                int r = vl_cli_def_option(opt, arg, &dopts, "run");
                if (r < 0)
                        return VL_EXIT_USAGE;
                if (r > 0)
                        continue;
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("run", "NAME|FILE", arg, &target) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
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
