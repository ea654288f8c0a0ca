/* Shared CLI helpers: definition options, loading, printing diagnostics. */
#include "launcher/cli_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/exit_codes.h"
#include "util/cleanup.h"
#include "version.h"

int vl_cli_parse_def_option(int argc, char **argv, int *i, struct vl_cli_def_opts *opts,
                            const char *verb)
{
        const char *a = argv[*i];
        if (!strcmp(a, "--allow-unsafe-owner")) {
                opts->allow_unsafe_owner = true;
                return 1;
        }
        if (!strncmp(a, "--config-dir=", 13)) {
                opts->config_dir = a + 13;
        } else if (!strcmp(a, "--config-dir")) {
                if (*i + 1 >= argc) {
                        fprintf(stderr, "vmlaunch %s: --config-dir needs a directory\n", verb);
                        return -1;
                }
                opts->config_dir = argv[++*i];
        } else {
                return 0;
        }
        if (!opts->config_dir[0]) {
                fprintf(stderr, "vmlaunch %s: --config-dir needs a directory\n", verb);
                return -1;
        }
        return 1;
}

const char *vl_cli_config_dir(const struct vl_cli_def_opts *opts)
{
        if (opts && opts->config_dir)
                return opts->config_dir;
        const char *env = getenv("VMLAUNCH_CONFIG_DIR");
        return env && *env ? env : VMLAUNCH_CONFIG_DIR;
}

void vl_cli_print_diags(const struct vmdef_diags *diags, const char *path)
{
        char line[1024];
        for (size_t i = 0; i < diags->count; i++) {
                vmdef_diag_format(&diags->items[i], path, line, sizeof(line));
                fprintf(stderr, "%s\n", line);
        }
}

int vl_cli_load_def(const char *name_or_file, const struct vl_cli_def_opts *opts,
                    struct vm_def **out)
{
        struct vmdef_load_opts lopts = {
                .allow_unsafe_owner = opts && opts->allow_unsafe_owner,
                .config_dir = vl_cli_config_dir(opts),
        };
        struct vmdef_diags diags = {0};
        _cleanup_free_ char *path = vmdef_resolve_path(name_or_file, lopts.config_dir);

        *out = NULL;
        if (!path) {
                fprintf(stderr, "vmlaunch: out of memory\n");
                return VL_EXIT_FAILURE;
        }
        int r = vmdef_load(path, &lopts, out, &diags);
        vl_cli_print_diags(&diags, path);
        vmdef_diags_free(&diags);
        if (r == -ENOMEM) {
                fprintf(stderr, "vmlaunch: %s: out of memory\n", path);
                return VL_EXIT_FAILURE;
        }
        return r < 0 ? VL_EXIT_DEFINITION : VL_EXIT_OK;
}

int vl_cli_take_target(const char *verb, const char *what, const char *arg, const char **target)
{
        if (arg[0] == '-' && arg[1]) {
                fprintf(stderr, "vmlaunch %s: unknown option '%s'; see `vmlaunch %s --help`\n",
                        verb, arg, verb);
                return -1;
        }
        if (*target) {
                fprintf(stderr, "vmlaunch %s: one %s expected, got '%s' and '%s'\n", verb, what,
                        *target, arg);
                return -1;
        }
        *target = arg;
        return 0;
}
