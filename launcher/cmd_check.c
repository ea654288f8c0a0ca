/* vmlaunch check: is the definition valid, and does this host have what it needs?
 * Changes nothing. Stages run in order; each adds diagnostics, and the first stage with
 * errors decides the exit code. Host checks (IOMMU, KVM, ...) go in check_stages. */
#include <stdio.h>
#include <string.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/exit_codes.h"

static void check_usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch check [OPTIONS] NAME|FILE\n\n"
                     "Validates the VM definition and the files it needs; changes nothing.\n"
                     "NAME reads CONFIG_DIR/NAME.ini; a FILE is any path with a '/' or "
                     "ending in .ini.\n\n"
                     "Options:\n"
                     "  -h, --help            show this help\n" VL_CLI_DEF_OPTIONS_HELP
                     "\nExit status: 0 OK, 2 usage, 3 invalid or unsafe definition, 4 the host "
                     "lacks something (e.g. a missing disk image).\n");
}

/* One host check: adds diagnostics for what this host lacks. */
struct check_stage {
        const char *name;
        void (*run)(const struct vm_def *def, struct vmdef_diags *diags);
};

static void check_files(const struct vm_def *def, struct vmdef_diags *diags)
{
        vmdef_check_files(def, VMDEF_ERROR, diags);
}

static const struct check_stage check_stages[] = {
        {"files", check_files},
};

int cmd_check(int argc, char **argv)
{
        struct vl_cli_def_opts dopts = {0};
        const char *target = NULL;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        check_usage(stdout);
                        return VL_EXIT_OK;
                }
                int r = vl_cli_parse_def_option(argc, argv, &i, &dopts, "check");
                if (r < 0)
                        return VL_EXIT_USAGE;
                if (r > 0)
                        continue;
                if (a[0] == '-' && a[1]) {
                        fprintf(stderr, "vmlaunch check: unknown option '%s'; see `vmlaunch "
                                        "check --help`\n",
                                a);
                        return VL_EXIT_USAGE;
                }
                if (target) {
                        fprintf(stderr, "vmlaunch check: one NAME|FILE expected, got '%s' and "
                                        "'%s'\n",
                                target, a);
                        return VL_EXIT_USAGE;
                }
                target = a;
        }
        if (!target) {
                check_usage(stderr);
                return VL_EXIT_USAGE;
        }

        struct vm_def *def = NULL;
        int ex = vl_cli_load_def(target, &dopts, &def);
        if (ex != VL_EXIT_OK)
                return ex;

        struct vmdef_diags diags = {0};
        for (size_t s = 0; s < sizeof(check_stages) / sizeof(check_stages[0]); s++)
                check_stages[s].run(def, &diags);
        vl_cli_print_diags(&diags, def->path);
        if (diags.n_errors) {
                fprintf(stderr, "%s: this host cannot run it (%zu problem%s)\n", def->name,
                        diags.n_errors, diags.n_errors == 1 ? "" : "s");
                ex = VL_EXIT_HOST_CHECK;
        } else {
                printf("%s: definition OK (%u vCPUs, %llu MiB, %zu disk%s%s)\n", def->name,
                       vmdef_vcpu_count(def), (unsigned long long)(def->memory_bytes >> 20),
                       def->n_disks, def->n_disks == 1 ? "" : "s",
                       def->has_gpu ? ", GPU passthrough" : "");
        }
        vmdef_diags_free(&diags);
        vmdef_free(def);
        return ex;
}
