/* Shared CLI helpers: definition options, loading, printing diagnostics. */
#include "launcher/cli_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/exit_codes.h"
#include "util/cleanup.h"
#include "version.h"

struct vl_cli_parser vl_cli_parser(const char *verb, int argc, char **argv, const char *shortopts,
                                   const struct option *longopts)
{
        /* glibc reinitializes (ordering from shortopts, no half-read "-xy") only when
         * optind is 0; 1 would keep the previous parse's state. */
        optind = 0;
        opterr = 0;
        return (struct vl_cli_parser){.verb = verb,
                                      .argc = argc,
                                      .argv = argv,
                                      .shortopts = shortopts,
                                      .longopts = longopts};
}

static const struct option *long_option_by_val(const struct option *longopts, int val)
{
        for (const struct option *o = longopts; o->name; o++)
                if (o->val == val)
                        return o;
        return NULL;
}

/* getopt_long returned '?': say why, in our words. word is the argument it was
 * reading when it advanced past it, NULL inside a cluster of short options. */
static void report_option_error(const struct vl_cli_parser *p, const char *word)
{
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "vmlaunch%s%s", p->verb ? " " : "", p->verb ? p->verb : "");
        if (!word || strncmp(word, "--", 2) != 0) {
                fprintf(stderr, "%s: unknown option '-%c'; see `%s --help`\n", cmd, optopt, cmd);
                return;
        }
        const char *name = word + 2;
        size_t len = strcspn(name, "=");
        const struct option *found = optopt ? long_option_by_val(p->longopts, optopt) : NULL;
        if (found) { /* getopt_long found it: then only a value it does not take is wrong */
                fprintf(stderr, "%s: --%s takes no value; see `%s --help`\n", cmd, found->name,
                        cmd);
                return;
        }
        size_t matches = 0;
        char candidates[256] = "";
        for (const struct option *o = p->longopts; o->name; o++) {
                if (strncmp(o->name, name, len) != 0)
                        continue;
                size_t used = strlen(candidates);
                snprintf(candidates + used, sizeof(candidates) - used, "%s--%s",
                         matches++ ? ", " : "", o->name);
        }
        if (matches > 1)
                fprintf(stderr, "%s: ambiguous option '--%.*s' (%s); see `%s --help`\n", cmd,
                        (int)len, name, candidates, cmd);
        else
                fprintf(stderr, "%s: unknown option '%s'; see `%s --help`\n", cmd, word, cmd);
}

int vl_cli_next(struct vl_cli_parser *p, const char **arg)
{
        *arg = NULL;
        if (!p->words_only) {
                int before = optind ? optind : 1; /* 0: about to start at argv[1] */
                int opt = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, NULL);
                if (opt == ':') /* a missing value: the option's own check words it */
                        return optopt;
                if (opt == '?') {
                        report_option_error(p, optind > before ? p->argv[optind - 1] : NULL);
                        return VL_CLI_ERROR;
                }
                if (opt != -1) {
                        *arg = optarg;
                        return opt;
                }
                p->words_only = true;
        }
        if (optind >= p->argc)
                return VL_CLI_END;
        *arg = p->argv[optind++];
        return VL_CLI_WORD;
}

int vl_cli_def_option(int opt, const char *arg, struct vl_cli_def_opts *opts, const char *verb)
{
        switch (opt) {
        case VL_CLI_OPT_ALLOW_UNSAFE_OWNER:
                opts->allow_unsafe_owner = true;
                return 1;
        case VL_CLI_OPT_CONFIG_DIR:
                if (!arg || !*arg) {
                        fprintf(stderr, "vmlaunch %s: --config-dir needs a directory\n", verb);
                        return -1;
                }
                opts->config_dir = arg;
                return 1;
        default:
                return 0;
        }
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

/* keep: the caller reports the warnings; only a refusal is printed here. */
static int load_def(const char *name_or_file, const struct vl_cli_def_opts *opts,
                    struct vm_def **out, struct vmdef_diags *diags, bool keep)
{
        struct vmdef_load_opts lopts = {
                .allow_unsafe_owner = opts && opts->allow_unsafe_owner,
                .config_dir = vl_cli_config_dir(opts),
        };
        _cleanup_free_ char *path = vmdef_resolve_path(name_or_file, lopts.config_dir);

        *out = NULL;
        if (!path) {
                fprintf(stderr, "vmlaunch: out of memory\n");
                return VL_EXIT_FAILURE;
        }
        int r = vmdef_load(path, &lopts, out, diags);
        if (r == -ENOMEM) {
                fprintf(stderr, "vmlaunch: %s: out of memory\n", path);
                return VL_EXIT_FAILURE;
        }
        if (r < 0 || !keep)
                vl_cli_print_diags(diags, path);
        return r < 0 ? VL_EXIT_DEFINITION : VL_EXIT_OK;
}

int vl_cli_load_def_keep_diags(const char *name_or_file, const struct vl_cli_def_opts *opts,
                               struct vm_def **out, struct vmdef_diags *diags)
{
        return load_def(name_or_file, opts, out, diags, true);
}

int vl_cli_load_def(const char *name_or_file, const struct vl_cli_def_opts *opts,
                    struct vm_def **out)
{
        struct vmdef_diags diags = {0};
        int ex = load_def(name_or_file, opts, out, &diags, false);
        vmdef_diags_free(&diags);
        return ex;
}

int vl_cli_name_and_json(const char *verb, int argc, char **argv, void (*usage)(FILE *out),
                         const char **name, bool *json)
{
        enum { OPT_JSON = VL_CLI_OPT_VERB };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, OPT_JSON},
                {0},
        };
        struct vl_cli_parser p = vl_cli_parser(verb, argc, argv, "-:h", options);
        const char *arg;
        *name = NULL;
        *json = false;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_JSON:
                        *json = true;
                        break;
                case VL_CLI_WORD:
                        if (vl_cli_take_target(verb, "NAME", arg, name) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!*name) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        return -1;
}

long vl_cli_timeout_s(const char *verb, const char *v)
{
        char *end;
        errno = 0;
        long timeout_s = v ? strtol(v, &end, 10) : -1;
        if (!v || !*v || *end || errno || timeout_s < 0 || timeout_s > 86400) {
                fprintf(stderr, "vmlaunch %s: --timeout '%s': expected seconds from 0 to 86400\n",
                        verb, v ? v : "");
                return -1;
        }
        return timeout_s;
}

int vl_cli_take_target(const char *verb, const char *what, const char *arg, const char **target)
{
        if (*target) {
                fprintf(stderr, "vmlaunch %s: one %s expected, got '%s' and '%s'\n", verb, what,
                        *target, arg);
                return -1;
        }
        *target = arg;
        return 0;
}
