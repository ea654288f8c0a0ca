/* vmlaunch list [--json] [--config-dir DIR]: every definition in the config dir, and
 * every VM that still has a vmlaunch or a journal without one, with its state. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/ctl_client.h"
#include "launcher/status_json.h"
#include "run/runstate.h"
#include "util/exit_codes.h"
#include "util/macro.h"
#include "util/strv.h"

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch list [--json] [--config-dir DIR]\n\n"
                     "List every VM definition (NAME.ini) in the config directory with its\n"
                     "state, vmlaunch's pid and the guest's uptime, and every VM whose\n"
                     "definition is gone but that still runs or waits for `vmlaunch restore`.\n"
                     "Definitions are not read: a broken one is listed all the same.\n"
                     "--json prints an array of the objects `status --json` prints (without\n"
                     "\"threads\"), each with \"definition\": its file, or null.\n"
                     "  --config-dir DIR      list DIR (default: $VMLAUNCH_CONFIG_DIR, else\n"
                     "                        /etc/vmlaunch)\n");
}

/* The stem of NAME.ini when it is a VM name: not hidden, not just ".ini". */
static bool definition_name(const char *file, char *name, size_t len)
{
        size_t n = strlen(file);
        if (n <= 4 || file[0] == '.' || !streq(file + n - 4, ".ini") || n - 4 >= len)
                return false;
        memcpy(name, file, n - 4);
        name[n - 4] = '\0';
        return true;
}

/* Names of DIR's regular *.ini files (a symlink counts as what it points to). A
 * directory that does not exist has none. */
static int scan_definitions(const char *dir, struct vl_strv *names)
{
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct dirent *e;
        int r = 0;
        while (r == 0 && (e = readdir(d))) {
                char name[256];
                struct stat st;
                if (!definition_name(e->d_name, name, sizeof(name)) ||
                    fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                        continue;
                r = vl_strv_push(names, name);
        }
        closedir(d);
        return r;
}

/* VMs of the runtime root that are not stopped (a vmlaunch runs them or a journal
 * waits) although no definition names them any more. */
static int scan_runs(struct vl_strv *names, size_t n_defined)
{
        DIR *d = opendir(runstate_root());
        if (!d)
                return errno == ENOENT || errno == EACCES ? 0 : -errno;
        struct dirent *e;
        int r = 0;
        while (r == 0 && (e = readdir(d))) {
                struct stat st;
                if (e->d_name[0] == '.' ||
                    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                        continue;
                bool known = false;
                for (size_t i = 0; i < n_defined && !known; i++)
                        known = streq(names->items[i], e->d_name);
                struct runstate rs;
                bool running = false;
                if (known || ctl_vm_state(e->d_name, &rs, &running, NULL) < 0 ||
                    streq(rs.state, "stopped"))
                        continue;
                r = vl_strv_push(names, e->d_name);
        }
        closedir(d);
        return r;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_row(const char *name, const struct runstate *st, bool running, bool defined)
{
        char state[80], pid[16] = "-", uptime[32] = "-";
        snprintf(state, sizeof(state), "%s%s%s%s", st->state, *st->step ? " (" : "", st->step,
                 *st->step ? ")" : "");
        if (running && st->pid)
                snprintf(pid, sizeof(pid), "%d", (int)st->pid);
        if (running && st->started_s) {
                long long up = status_uptime_s(st);
                snprintf(uptime, sizeof(uptime), "%lld:%02lld:%02lld", up / 3600, up / 60 % 60,
                         up % 60);
        }
        printf("%-20s %-24s %8s %10s%s\n", name, state, pid, uptime,
               defined ? "" : "  (definition gone)");
}

enum { OPT_JSON = VL_CLI_OPT_VERB };

static const struct option list_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"config-dir", required_argument, NULL, VL_CLI_OPT_CONFIG_DIR},
        {0},
};

int cmd_list(int argc, char **argv)
{
        bool json = false;
        struct vl_cli_def_opts dopts = {0};
        struct vl_cli_parser p = vl_cli_parser("list", argc, argv, "-:h", list_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                int r = vl_cli_def_option(opt, arg, &dopts, "list");
                if (r < 0)
                        return VL_EXIT_USAGE;
                if (r > 0)
                        continue;
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_JSON:
                        json = true;
                        break;
                case VL_CLI_WORD:
                        fprintf(stderr,
                                "vmlaunch list: unknown argument '%s'; see `vmlaunch list --help`\n",
                                arg);
                        return VL_EXIT_USAGE;
                default: /* VL_CLI_ERROR, already said */
                        return VL_EXIT_USAGE;
                }
        }

        const char *config_dir = vl_cli_config_dir(&dopts);
        struct vl_strv names = {0};
        int r = scan_definitions(config_dir, &names);
        if (r < 0) {
                fprintf(stderr, "vmlaunch list: read %s: %s\n", config_dir, strerror(-r));
                vl_strv_free(&names);
                return VL_EXIT_FAILURE;
        }
        size_t n_defined = names.count;
        r = scan_runs(&names, n_defined);
        if (r < 0) {
                fprintf(stderr, "vmlaunch list: read %s: %s\n", runstate_root(), strerror(-r));
                vl_strv_free(&names);
                return VL_EXIT_FAILURE;
        }
        if (names.count)
                qsort(names.items, names.count, sizeof(*names.items), compare_names);

        int ex = VL_EXIT_OK;
        struct json_object *arr = json_object_new_array();
        if (!json)
                printf("%-20s %-24s %8s %10s\n", "NAME", "STATE", "PID", "UPTIME");
        for (size_t i = 0; i < names.count; i++) {
                const char *name = names.items[i];
                struct runstate st;
                bool running = false;
                struct vl_error err = {0};
                if (ctl_vm_state(name, &st, &running, &err) < 0) {
                        fprintf(stderr, "vmlaunch list: %s: %s\n", name, err.msg);
                        ex = VL_EXIT_FAILURE;
                        continue;
                }
                char *path = NULL;
                struct stat sb;
                if (asprintf(&path, "%s/%s.ini", config_dir, name) < 0) {
                        ex = VL_EXIT_FAILURE;
                        break;
                }
                bool defined = stat(path, &sb) == 0;
                if (json) {
                        struct json_object *o = status_json(name, &st, running);
                        json_object_object_add(o, "definition",
                                               defined ? json_object_new_string(path) : NULL);
                        json_object_array_add(arr, o);
                } else {
                        print_row(name, &st, running, defined);
                }
                free(path);
        }
        if (json)
                printf("%s\n", json_object_to_json_string_ext(
                                       arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
        json_object_put(arr);
        vl_strv_free(&names);
        return ex;
}
