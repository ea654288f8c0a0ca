/* vmlaunch guest [--timeout S] NAME JSON: one command to the guest agent, through
 * the running vmlaunch that holds the agent's only connection. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/ctl_client.h"
#include "run/guest_agent.h"
#include "util/cleanup.h"
#include "util/exit_codes.h"

/* Beyond the agent's own timeout: time for the run to answer that it timed out. */
#define GUEST_REPLY_MARGIN_MS 5000

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch guest [--timeout SECONDS] NAME JSON\n\n"
                "Send one command to the guest agent of a running VM ([guest] agent = yes) and\n"
                "print its \"return\" value as JSON. JSON is a command object such as\n"
                "'{\"execute\": \"guest-get-osinfo\"}' (with \"arguments\" when needed), or just a\n"
                "command name: guest-info. --timeout: how long the agent may take (default 30).\n\n"
                "Exit status: 0 the agent answered, 1 it answered with an error or not in time,\n"
                "or the agent is not up, 2 usage, 15 the VM is not running.\n");
}

/* A command object, or a bare name made into one; NULL when it is neither. */
static struct json_object *parse_command(const char *text)
{
        struct json_object *o = json_tokener_parse(text), *exec;
        if (o && json_object_is_type(o, json_type_object) &&
            json_object_object_get_ex(o, "execute", &exec) &&
            json_object_is_type(exec, json_type_string))
                return o;
        json_object_put(o);
        if (!*text || strpbrk(text, "{}[]\" \t"))
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "execute", json_object_new_string(text));
        return o;
}

enum { OPT_TIMEOUT = VL_CLI_OPT_VERB };

static const struct option guest_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {0},
};

int cmd_guest(int argc, char **argv)
{
        struct vl_cli_parser p = vl_cli_parser("guest", argc, argv, "+:h", guest_options);
        const char *words[3] = {NULL}, *arg;
        size_t n_words = 0;
        long timeout_s = GUEST_AGENT_COMMAND_TIMEOUT_MS / 1000;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                char *end;
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_TIMEOUT:
                        errno = 0;
                        timeout_s = strtol(arg, &end, 10);
                        if (!*arg || *end || errno || timeout_s < 1 || timeout_s > 3600) {
                                fprintf(stderr,
                                        "vmlaunch guest: --timeout '%s': expected seconds from 1 to 3600\n",
                                        arg);
                                return VL_EXIT_USAGE;
                        }
                        break;
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
        const char *name = words[0];
        struct json_object *command = parse_command(words[1]);
        if (!command) {
                fprintf(stderr,
                        "vmlaunch guest: '%s' is not a guest agent command; expected '{\"execute\": \"NAME\", \"arguments\": {...}}' or a command name\n",
                        words[1]);
                return VL_EXIT_USAGE;
        }
        struct json_object *req = json_object_new_object();
        json_object_object_add(req, "request", json_object_new_string("guest"));
        json_object_object_add(req, "command", command);
        json_object_object_add(req, "timeout_ms", json_object_new_int((int)timeout_s * 1000));

        struct vl_error err = {0};
        struct runstate st;
        _cleanup_free_ char *run_dir = NULL, *reply = NULL;
        int ex = VL_EXIT_FAILURE;
        int r = ctl_find_running(name, &run_dir, &st, &err);
        if (r == -ESRCH) {
                fprintf(stderr, "vmlaunch guest: %s\n", err.msg);
                json_object_put(req);
                return VL_EXIT_NOT_RUNNING;
        }
        if (r >= 0)
                r = ctl_request(run_dir,
                                json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
                                (int)timeout_s * 1000 + GUEST_REPLY_MARGIN_MS, &reply, &err);
        json_object_put(req);
        if (r < 0) {
                fprintf(stderr, "vmlaunch guest: %s: %s\n", name, err.msg);
                return VL_EXIT_FAILURE;
        }
        struct json_object *o = json_tokener_parse(reply), *ret, *error;
        if (o && json_object_object_get_ex(o, "return", &ret)) {
                printf("%s\n", json_object_to_json_string_ext(
                                       ret, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                ex = VL_EXIT_OK;
        } else if (o && json_object_object_get_ex(o, "error", &error)) {
                struct json_object *desc;
                const char *why = json_object_is_type(error, json_type_object) &&
                                                  json_object_object_get_ex(error, "desc", &desc)
                                          ? json_object_get_string(desc)
                                          : json_object_get_string(error);
                fprintf(stderr, "vmlaunch guest: %s: %s\n", name, why);
        } else {
                fprintf(stderr, "vmlaunch guest: %s: an answer that is not JSON: %s\n", name,
                        reply);
        }
        json_object_put(o);
        return ex;
}
