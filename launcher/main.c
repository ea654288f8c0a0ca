/* vmlaunch: entry point and verb dispatch. */
#include <stdio.h>
#include <string.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "util/exit_codes.h"
#include "util/macro.h"
#include "version.h"

static const struct vl_verb verbs[] = {
        {"run", "prepare the host, run the VM, restore the host when it ends", cmd_run},
        {"plan", "print the host steps and the QEMU command line, change nothing", cmd_plan},
        {"check", "report whether this host can run the VM, change nothing", cmd_check},
        {"restore", "put the host back after a vmlaunch that was killed", cmd_restore},
        {"status", "show a VM's state, pid, uptime and pins", cmd_status},
        {"list", "list every VM definition with its state, pid and uptime", cmd_list},
        {"events", "follow a running VM's events until its run ends", cmd_events},
        {"wait", "wait until a VM is running, stopped, ready, ... or a port answers", cmd_wait},
        {"stop", "shut a running VM down (ACPI, then quit, then kill)", cmd_stop},
        {"start", "start vmlaunch@NAME.service and wait until the VM is ready", cmd_start},
        {"wake", "start the VM a Wake-on-LAN magic packet names (vmlaunch-wake.socket)", cmd_wake},
        {"qmp", "send one QMP command to a running VM", cmd_qmp},
        {"guest", "send one command to a running VM's guest agent", cmd_guest},
        {"topology", "show the host's CPU layout and suggest vCPU pinning", cmd_topology},
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch [--help] [--version] VERB [OPTIONS] [NAME|FILE]\n"
                     "       vmlaunch NAME            same as `vmlaunch run NAME`\n\n"
                     "Verbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
        fprintf(out,
                "\n`vmlaunch VERB --help` describes each verb; see vmlaunch(1) and vmlaunch.ini(5).\n");
}

static const struct option main_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
};

int main(int argc, char **argv)
{
        /* "+": vmlaunch's own options end at the verb; the rest is the verb's. */
        struct vl_cli_parser p = vl_cli_parser(NULL, argc, argv, "+:hV", main_options);
        const char *first = NULL;
        for (int opt; !first && (opt = vl_cli_next(&p, &first)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case 'V':
                        printf("vmlaunch %s\n", VMLAUNCH_VERSION);
                        return VL_EXIT_OK;
                case VL_CLI_WORD:
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!first) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        if (streq(first, "help")) {
                usage(stdout);
                return VL_EXIT_OK;
        }
        /* The verb sees its own name as argv[0], as a program would. */
        int verb_index = optind - 1;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(first, verbs[i].name))
                        return verbs[i].run(argc - verb_index, argv + verb_index);
        /* `vmlaunch win10` means `vmlaunch run win10`: the word before NAME becomes the
         * verb name. */
        argv[verb_index - 1] = "run";
        return cmd_run(argc - verb_index + 1, argv + verb_index - 1);
}
