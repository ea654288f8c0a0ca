/* vmlaunch qmp NAME JSON: one QMP command over the VM's ctl.qmp socket. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/ctl_client.h"
#include "util/exit_codes.h"
#include "qmp/qmp.h"
#include "util/cleanup.h"

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch qmp NAME JSON\n\n"
                     "Send one QMP command to a running VM over its control socket and print\n"
                     "the \"return\" value as JSON. JSON is a command object such as\n"
                     "'{\"execute\": \"query-status\"}' (with \"arguments\" when needed), or\n"
                     "just a command name: query-status.\n");
}

/* Splits the user's command into its name and arguments (borrowed from *parsed). */
static int parse_command(const char *text, struct json_object **parsed, const char **command,
                         struct json_object **args)
{
        *parsed = json_tokener_parse(text);
        *args = NULL;
        if (!*parsed) {
                /* A bare command name, which is not valid JSON. */
                if (!*text || strpbrk(text, "{}[]\" \t"))
                        return -EINVAL;
                *command = text;
                return 0;
        }
        if (json_object_is_type(*parsed, json_type_string)) {
                *command = json_object_get_string(*parsed);
                return 0;
        }
        struct json_object *exec;
        if (!json_object_is_type(*parsed, json_type_object) ||
            !json_object_object_get_ex(*parsed, "execute", &exec) ||
            !json_object_is_type(exec, json_type_string))
                return -EINVAL;
        *command = json_object_get_string(exec);
        json_object_object_get_ex(*parsed, "arguments", args);
        return 0;
}

static const struct option qmp_options[] = {
        {"help", no_argument, NULL, 'h'},
        {0},
};

int cmd_qmp(int argc, char **argv)
{
        /* "+": options end at NAME, so JSON is taken as it is, whatever it starts with. */
        struct vl_cli_parser p = vl_cli_parser("qmp", argc, argv, "+:h", qmp_options);
        const char *words[3] = {NULL}, *arg;
        size_t n_words = 0;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case VL_CLI_WORD:
                        if (n_words < 3)
                                words[n_words] = arg;
                        n_words++;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (n_words != 2) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        const char *name = words[0], *text = words[1];
        struct json_object *parsed = NULL, *args = NULL, *ret = NULL;
        const char *command = NULL;
        if (parse_command(text, &parsed, &command, &args) < 0) {
                fprintf(stderr,
                        "vmlaunch qmp: '%s' is not a QMP command; expected '{\"execute\": \"NAME\", \"arguments\": {...}}' or a command name\n",
                        text);
                json_object_put(parsed);
                return VL_EXIT_USAGE;
        }

        struct vl_error err = {0};
        struct runstate st;
        _cleanup_free_ char *run_dir = NULL;
        struct qmp_client *qmp = NULL;
        int ex = VL_EXIT_FAILURE;
        int r = ctl_find_running(name, &run_dir, &st, &err);
        if (r >= 0)
                r = ctl_connect(run_dir, &qmp, &err);
        if (r >= 0)
                r = qmp_execute(qmp, command, args, CTL_COMMAND_TIMEOUT_MS, &ret, &err);
        if (r < 0) {
                fprintf(stderr, "vmlaunch qmp: %s%s%s\n", r == -EREMOTEIO ? command : "",
                        r == -EREMOTEIO ? ": " : "", err.msg);
        } else {
                printf("%s\n", ret ? json_object_to_json_string_ext(
                                             ret, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED)
                                   : "{}");
                ex = VL_EXIT_OK;
        }
        json_object_put(ret);
        json_object_put(parsed);
        qmp_close(qmp);
        return ex;
}
