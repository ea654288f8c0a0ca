/* Helpers shared by the verbs that read a VM definition (check, plan, run, ...).
 *
 * Usage in a verb:
 *
 *     struct vl_cli_def_opts dopts = {0};
 *     for (int i = 1; i < argc; i++) {
 *             int r = vl_cli_parse_def_option(argc, argv, &i, &dopts, "plan");
 *             if (r < 0) return VL_EXIT_USAGE;      // message already printed
 *             if (r > 0) continue;                  // it was one of ours
 *             ... the verb's own options, then NAME|FILE ...
 *     }
 *     struct vm_def *def = NULL;
 *     int ex = vl_cli_load_def(name_or_file, &dopts, &def);
 *     if (ex != VL_EXIT_OK) return ex;              // diagnostics already printed
 *     ...
 *     vmdef_free(def);
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "vmdefs/vmdef.h"

struct vl_cli_def_opts {
        /* --config-dir DIR; NULL: $VMLAUNCH_CONFIG_DIR, else the built-in /etc/vmlaunch. */
        const char *config_dir;
        /* --allow-unsafe-owner: accept a definition not owned by root or writable by
         * others. For tests; ignored when running as root. */
        bool allow_unsafe_owner;
};

/* Lines for a verb's --help describing the options above. */
#define VL_CLI_DEF_OPTIONS_HELP                                                                    \
        "  --config-dir DIR      read NAME.ini from DIR (default: $VMLAUNCH_CONFIG_DIR,\n"         \
        "                        else /etc/vmlaunch)\n"                                            \
        "  --allow-unsafe-owner  accept a definition not owned by root (tests; ignored\n"          \
        "                        when run as root)\n"

/* Recognizes one shared option at argv[*i] (`--config-dir DIR`, `--config-dir=DIR`,
 * `--allow-unsafe-owner`). Returns 1 when consumed (*i then points at its last word),
 * 0 when argv[*i] is not one of them, -1 on a usage error (printed as
 * "vmlaunch VERB: ..."). */
int vl_cli_parse_def_option(int argc, char **argv, int *i, struct vl_cli_def_opts *opts,
                            const char *verb);

/* Takes a verb's one positional argument (what: "NAME|FILE" or "NAME", for the
 * message): an unknown option or a second one is a usage error, printed as
 * "vmlaunch VERB: ...". Returns 0, or -1 on error. */
int vl_cli_take_target(const char *verb, const char *what, const char *arg, const char **target);

/* The config directory in effect: opts->config_dir, $VMLAUNCH_CONFIG_DIR, or the default. */
const char *vl_cli_config_dir(const struct vl_cli_def_opts *opts);

/* Prints every diagnostic (errors and warnings) to stderr, one line each, in the form
 * FILE:LINE: [section] key: what is wrong; what is expected. */
void vl_cli_print_diags(const struct vmdef_diags *diags, const char *path);

/* Resolves NAME|FILE, loads and validates the definition, prints all diagnostics.
 * Returns VL_EXIT_OK with *out set (free with vmdef_free), VL_EXIT_DEFINITION when the
 * definition is missing, unsafe or invalid, or VL_EXIT_FAILURE (out of memory). */
int vl_cli_load_def(const char *name_or_file, const struct vl_cli_def_opts *opts,
                    struct vm_def **out);
