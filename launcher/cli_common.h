/* Helpers shared by the verbs: option parsing (getopt_long with our messages) and,
 * for the verbs that read a VM definition (check, plan, run, ...), its options.
 *
 * Usage in a verb:
 *
 *     static const struct option options[] = {
 *             {"help", no_argument, NULL, 'h'},
 *             {"json", no_argument, NULL, OPT_JSON},   // OPT_JSON >= VL_CLI_OPT_VERB
 *             VL_CLI_DEF_LONG_OPTIONS,
 *             {0},
 *     };
 *     struct vl_cli_def_opts dopts = {0};
 *     struct vl_cli_parser p = vl_cli_parser("plan", argc, argv, "-:h", options);
 *     const char *arg;
 *     for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
 *             int r = vl_cli_def_option(opt, arg, &dopts, "plan");
 *             if (r < 0 || opt == VL_CLI_ERROR) return VL_EXIT_USAGE;  // already printed
 *             if (r > 0) continue;                                   // it was one of ours
 *             switch (opt) { ... the verb's own options, VL_CLI_WORD for NAME|FILE ... }
 *     }
 *     struct vm_def *def = NULL;
 *     int ex = vl_cli_load_def(name_or_file, &dopts, &def);
 *     if (ex != VL_EXIT_OK) return ex;              // diagnostics already printed
 *     ...
 *     vmdef_free(def);
 */
#pragma once

#include <getopt.h>
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

/* What vl_cli_next returns besides an option's val. Long options without a short
 * form use vals from VL_CLI_OPT_DEF on, out of the range of characters. */
enum {
        VL_CLI_END = -1,
        VL_CLI_WORD = 1,    /* a word that is not an option: NAME, FILE, JSON, ... */
        VL_CLI_ERROR = '?', /* a usage error, already printed */
        VL_CLI_OPT_DEF = 0x100,
        VL_CLI_OPT_CONFIG_DIR = VL_CLI_OPT_DEF,
        VL_CLI_OPT_ALLOW_UNSAFE_OWNER,
        VL_CLI_OPT_VERB = 0x200, /* a verb numbers its own long-only options from here */
};

/* The definition options, for a verb's getopt_long table. */
// clang-format off
#define VL_CLI_DEF_LONG_OPTIONS                                                                    \
        {"config-dir", required_argument, NULL, VL_CLI_OPT_CONFIG_DIR},                            \
        {"allow-unsafe-owner", no_argument, NULL, VL_CLI_OPT_ALLOW_UNSAFE_OWNER}
// clang-format on

/* One pass of getopt_long over a verb's argv, with our own messages (opterr = 0). */
struct vl_cli_parser {
        const char *verb; /* for messages; NULL for vmlaunch's own options */
        int argc;
        char **argv;
        /* getopt_long's: starts with "-:" (options and words in the order given, as
         * `vmlaunch status win10 --json` wants, whatever POSIXLY_CORRECT says) or "+:"
         * (options end at the first word: the verb, a QMP command). */
        const char *shortopts;
        const struct option *longopts;
        bool words_only; /* getopt is done (end, `--`, or "+"): the rest are words */
};

/* Starts a parse (resets getopt's global state: optind = 0, which glibc needs to
 * reinitialize, so verbs can be called more than once in a process). */
struct vl_cli_parser vl_cli_parser(const char *verb, int argc, char **argv, const char *shortopts,
                                   const struct option *longopts);

/* The next option's val with *arg its value (NULL when it takes none, or when it needs
 * one and none was given: the option's own check then says what it needs), VL_CLI_WORD
 * with *arg the word (after `--` even one starting with '-'), VL_CLI_END, or
 * VL_CLI_ERROR after printing "vmlaunch VERB: unknown option '--x'; see `vmlaunch
 * VERB --help`" (or: ambiguous, takes no value). Unambiguous abbreviations of long
 * options are accepted, as getopt_long does. The index of the word just returned is
 * optind - 1. */
int vl_cli_next(struct vl_cli_parser *p, const char **arg);

/* Handles the definition options (VL_CLI_DEF_LONG_OPTIONS) as vl_cli_next returned
 * them. Returns 1 when opt was one of them, 0 when not, -1 on a usage error (printed
 * as "vmlaunch VERB: ..."). */
int vl_cli_def_option(int opt, const char *arg, struct vl_cli_def_opts *opts, const char *verb);

/* Takes a verb's one positional argument (what: "NAME|FILE" or "NAME", for the
 * message): a second one is a usage error, printed as "vmlaunch VERB: ...".
 * Returns 0, or -1 on error. */
int vl_cli_take_target(const char *verb, const char *what, const char *arg, const char **target);

/* The command line of a verb that takes only [--json] NAME (status, events): -1 with
 * *name and *json set, to go on; otherwise the exit code to return (0 after --help,
 * VL_EXIT_USAGE after printing why, with usage(stderr) when NAME is missing). */
int vl_cli_name_and_json(const char *verb, int argc, char **argv, void (*usage)(FILE *out),
                         const char **name, bool *json);

/* A --timeout of SECONDS from 0 to 86400 (a day); -1 after printing
 * "vmlaunch VERB: --timeout 'V': expected seconds from 0 to 86400". */
long vl_cli_timeout_s(const char *verb, const char *v);

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

/* vl_cli_load_def for a verb that reports the warnings itself (plan puts them in its
 * JSON): the diagnostics are added to *diags and printed only when the definition
 * is refused. */
int vl_cli_load_def_keep_diags(const char *name_or_file, const struct vl_cli_def_opts *opts,
                               struct vm_def **out, struct vmdef_diags *diags);
