/* vmlaunch: entry point and verb dispatch. */
#include <stdio.h>
#include <string.h>

#include "launcher/commands.h"
#include "util/exit_codes.h"
#include "version.h"

static const struct vl_verb verbs[] = {
        {"run", "prepare the host, run the VM, restore the host when it ends", cmd_run},
        {"plan", "print the host steps and the QEMU command line, change nothing", cmd_plan},
        {"check", "report whether this host can run the VM, change nothing", cmd_check},
        {"restore", "put the host back after a vmlaunch that was killed", cmd_restore},
        {"status", "show a running VM's state, pid, uptime and pins", cmd_status},
        {"stop", "shut a running VM down (ACPI, then quit, then kill)", cmd_stop},
        {"qmp", "send one QMP command to a running VM", cmd_qmp},
        {"topology", "show the host's CPU layout and suggest vCPU pinning", cmd_topology},
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch [--help] [--version] VERB [OPTIONS] [NAME|FILE]\n"
                     "       vmlaunch NAME            same as `vmlaunch run NAME`\n\n"
                     "Verbs:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
        fprintf(out,
                "\n`vmlaunch VERB --help` describes each verb; see vmlaunch(1) and vmlaunch.ini(5).\n");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        const char *first = argv[1];
        if (!strcmp(first, "--help") || !strcmp(first, "-h") || !strcmp(first, "help")) {
                usage(stdout);
                return VL_EXIT_OK;
        }
        if (!strcmp(first, "--version") || !strcmp(first, "-V")) {
                printf("vmlaunch %s\n", VMLAUNCH_VERSION);
                return VL_EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (!strcmp(first, verbs[i].name))
                        return verbs[i].run(argc - 1, argv + 1);
        if (first[0] == '-') {
                fprintf(stderr, "vmlaunch: unknown option '%s'; see `vmlaunch --help`\n", first);
                return VL_EXIT_USAGE;
        }
        /* `vmlaunch win10` means `vmlaunch run win10`: argv[0] becomes the verb name. */
        argv[0] = "run";
        return cmd_run(argc, argv);
}
