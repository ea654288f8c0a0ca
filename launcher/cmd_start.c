/* vmlaunch start [--no-block] [--json] [--timeout S] NAME: start vmlaunch@NAME.service
 * through systemd and follow its start job. The unit is Type=notify and vmlaunch sends
 * READY=1 once the session is usable ([session] ready), so the job ends "done" exactly
 * when the VM is ready, and "failed" when vmlaunch run ended first. */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/systemd_start.h"
#include "util/exit_codes.h"
#include "util/strv.h"

#define JOURNAL_LINES 10

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: vmlaunch start [--no-block] [--json] [--timeout SECONDS] NAME\n\n"
                "Start vmlaunch@NAME.service through systemd and wait until the VM is ready\n"
                "(the unit's READY=1, see [session] ready) or the start failed; on failure,\n"
                "print the unit's last log lines and how vmlaunch run ended in it.\n\n"
                "Options:\n"
                "  -h, --help         show this help\n"
                "  --no-block         return once the start job is queued\n"
                "  --timeout SECONDS  stop waiting after SECONDS (exit 14; the unit keeps\n"
                "                     starting)\n"
                "  --json             print the outcome as one JSON object on stdout\n\n"
                "Exit status: 0 ready (or already running, or queued with --no-block), 2 usage,\n"
                "3 no such definition, 4 systemd is not the init system (use `vmlaunch run\n"
                "NAME`), 14 --timeout passed; a failed start exits with vmlaunch run's own\n"
                "exit status in the unit (see vmlaunch(1)), or 1 when it has none.\n");
}

/* The exit code for a start job that did not end "done": vmlaunch run's own status
 * when it exited with one, so scripts see the same code as from `vmlaunch run`. */
static int failed_start_exit(const struct unit_start_result *res)
{
        if (res->exec_main_code == CLD_EXITED && res->exec_main_status > 0 &&
            res->exec_main_status <= VL_EXIT_NOT_RUNNING)
                return res->exec_main_status;
        return VL_EXIT_FAILURE;
}

/* "vmlaunch run exited with 4 (this host cannot run the VM)", "... was killed by
 * SIGKILL", or "" when it did not run. */
static void describe_exec_main(const struct unit_start_result *res, char *buf, size_t len)
{
        buf[0] = '\0';
        if (res->exec_main_code == CLD_EXITED) {
                snprintf(buf, len, "vmlaunch run exited with %d (%s)", res->exec_main_status,
                         vl_exit_describe(res->exec_main_status));
        } else if (res->exec_main_code == CLD_KILLED || res->exec_main_code == CLD_DUMPED) {
                const char *sig = sigabbrev_np(res->exec_main_status);
                snprintf(buf, len, "vmlaunch run was killed by SIG%s%s", sig ? sig : "?",
                         res->exec_main_code == CLD_DUMPED ? " (core dumped)" : "");
        }
}

static void print_json(const char *name, const char *unit, const char *result, int exit_code,
                       const struct unit_start_result *res, const struct vl_strv *log)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "vm", json_object_new_string(name));
        json_object_object_add(o, "unit", json_object_new_string(unit));
        json_object_object_add(o, "result", json_object_new_string(result));
        json_object_object_add(o, "exit_code", json_object_new_int(exit_code));
        if (res && res->invocation_id[0])
                json_object_object_add(o, "invocation_id",
                                       json_object_new_string(res->invocation_id));
        if (res && res->exec_main_code == CLD_EXITED) {
                json_object_object_add(o, "run_exit_status",
                                       json_object_new_int(res->exec_main_status));
                json_object_object_add(
                        o, "run_exit_meaning",
                        json_object_new_string(vl_exit_describe(res->exec_main_status)));
        } else if (res && res->exec_main_code) {
                const char *sig = sigabbrev_np(res->exec_main_status);
                json_object_object_add(o, "run_killed_by_signal",
                                       json_object_new_string(sig ? sig : "?"));
        }
        if (log) {
                struct json_object *lines = json_object_new_array();
                for (size_t i = 0; i < log->count; i++)
                        json_object_array_add(lines, json_object_new_string(log->items[i]));
                json_object_object_add(o, "log", lines);
        }
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
}

enum { OPT_NO_BLOCK = VL_CLI_OPT_VERB, OPT_JSON, OPT_TIMEOUT };

static const struct option start_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"no-block", no_argument, NULL, OPT_NO_BLOCK},
        {"json", no_argument, NULL, OPT_JSON},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {0},
};

int cmd_start(int argc, char **argv)
{
        bool no_block = false, json = false;
        long long timeout_s = -1;
        const char *name = NULL;
        struct vl_cli_parser p = vl_cli_parser("start", argc, argv, "-:h", start_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_NO_BLOCK:
                        no_block = true;
                        break;
                case OPT_JSON:
                        json = true;
                        break;
                case OPT_TIMEOUT:
                        timeout_s = vl_cli_timeout_s("start", arg);
                        if (timeout_s < 0)
                                return VL_EXIT_USAGE;
                        break;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("start", "NAME", arg, &name) < 0)
                                return VL_EXIT_USAGE;
                        break;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }
        if (!name) {
                usage(stderr);
                return VL_EXIT_USAGE;
        }
        /* The unit runs `vmlaunch run NAME` on CONFIG_DIR/NAME.ini: a path cannot name it. */
        if (strchr(name, '/') || (strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".ini"))) {
                fprintf(stderr,
                        "vmlaunch start: '%s': expected a NAME (the unit vmlaunch@NAME.service runs CONFIG_DIR/NAME.ini), not a file\n",
                        name);
                return VL_EXIT_USAGE;
        }

        /* The unit would refuse a definition that is missing, invalid or unsafe: say so
         * here, with the same diagnostics as run. */
        struct vm_def *def = NULL;
        int ex = vl_cli_load_def(name, NULL, &def);
        if (ex != VL_EXIT_OK)
                return ex;
        char unit[128];
        snprintf(unit, sizeof(unit), "vmlaunch@%s.service", def->name);
        vmdef_free(def);

        if (!systemd_booted()) {
                fprintf(stderr,
                        "vmlaunch start: systemd is not the init system here (no /run/systemd/system), so there is no %s to start; run the VM in the foreground with `vmlaunch run %s`\n",
                        unit, name);
                if (json)
                        print_json(name, unit, "no-systemd", VL_EXIT_HOST_CHECK, NULL, NULL);
                return VL_EXIT_HOST_CHECK;
        }

        struct unit_start_result res;
        struct vl_error err = {0};
        if (unit_start(unit, no_block, timeout_s < 0 ? -1 : timeout_s * 1000, &res, &err) < 0) {
                fprintf(stderr, "vmlaunch start: %s\n", err.msg);
                if (json)
                        print_json(name, unit, "error", VL_EXIT_FAILURE, NULL, NULL);
                return VL_EXIT_FAILURE;
        }
        if (res.already_active) {
                fprintf(stderr, "vmlaunch start: %s is already running (%s is active)\n", name,
                        unit);
                if (json)
                        print_json(name, unit, "already-running", VL_EXIT_OK, &res, NULL);
                return VL_EXIT_OK;
        }
        if (res.queued) {
                fprintf(stderr,
                        "vmlaunch start: %s queued (`vmlaunch wait %s` or `systemctl status %s` follow it)\n",
                        unit, name, unit);
                if (json)
                        print_json(name, unit, "queued", VL_EXIT_OK, &res, NULL);
                return VL_EXIT_OK;
        }
        if (res.gave_up) {
                fprintf(stderr,
                        "vmlaunch start: %s is not ready after %lld s; it goes on starting (`systemctl status %s`)\n",
                        name, timeout_s, unit);
                if (json)
                        print_json(name, unit, "waiting", VL_EXIT_TIMEOUT, &res, NULL);
                return VL_EXIT_TIMEOUT;
        }
        if (!strcmp(res.job_result, "done")) {
                fprintf(stderr, "vmlaunch start: %s is ready (%s is active)\n", name, unit);
                if (json)
                        print_json(name, unit, "done", VL_EXIT_OK, &res, NULL);
                return VL_EXIT_OK;
        }

        ex = failed_start_exit(&res);
        char how[160];
        describe_exec_main(&res, how, sizeof(how));
        fprintf(stderr, "vmlaunch start: starting %s failed (job result '%s')%s%s\n", unit,
                res.job_result, how[0] ? ": " : "", how);
        struct vl_strv log = {0};
        struct vl_error jerr = {0};
        int r = unit_journal_tail(unit, res.invocation_id, JOURNAL_LINES, &log, &jerr);
        if (r < 0 || !log.count) {
                fprintf(stderr, "vmlaunch start: %s%sits log: `journalctl -u %s`\n",
                        r < 0 ? jerr.msg : "", r < 0 ? "; " : "", unit);
        } else {
                fprintf(stderr, "---- the last lines of %s (`journalctl -u %s`) ----\n", unit,
                        unit);
                for (size_t i = 0; i < log.count; i++)
                        fprintf(stderr, "%s\n", log.items[i]);
                fprintf(stderr, "----\n");
        }
        if (json)
                print_json(name, unit, res.job_result, ex, &res, &log);
        vl_strv_free(&log);
        return ex;
}
