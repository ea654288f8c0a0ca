/* vmlaunch status [--json] NAME: state, pids, uptime and the CPUs of each vCPU
 * and iothread of a running VM, the CPUs read from /proc. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "launcher/cli_common.h"
#include "launcher/commands.h"
#include "launcher/ctl_client.h"
#include "util/exit_codes.h"
#include "run/pin.h"
#include "qmp/qmp.h"
#include "util/cleanup.h"

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch status [--json] NAME\n\n"
                     "Show a running VM's state, vmlaunch's and QEMU's pids, the uptime and the\n"
                     "CPUs each vCPU and iothread may run on (read from /proc). Exits 1 when\n"
                     "the VM is not running.\n");
}

/* The CPUs a thread may run on, as the kernel shows them ("0-3,8"). */
static void read_cpus_allowed(pid_t pid, pid_t tid, char *buf, size_t len)
{
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
        snprintf(buf, len, "?");
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "Cpus_allowed_list:", 18))
                        continue;
                char *v = line + 18;
                v += strspn(v, " \t");
                v[strcspn(v, "\n")] = '\0';
                snprintf(buf, len, "%s", v);
                return;
        }
}

/* Asks QEMU over ctl.qmp; on failure the state file alone is shown. */
static int query_qemu(const char *run_dir, char *status, size_t status_len,
                      struct pin_report *threads, struct vl_error *err)
{
        struct qmp_client *qmp = NULL;
        struct json_object *ret = NULL, *s;
        int r = ctl_connect(run_dir, &qmp, err);
        if (r >= 0)
                r = qmp_execute(qmp, "query-status", NULL, CTL_CONNECT_TIMEOUT_MS, &ret, err);
        if (r >= 0 && json_object_object_get_ex(ret, "status", &s))
                snprintf(status, status_len, "%s", json_object_get_string(s));
        json_object_put(ret);
        ret = NULL;
        if (r >= 0)
                r = qmp_execute(qmp, "query-cpus-fast", NULL, CTL_CONNECT_TIMEOUT_MS, &ret, err);
        if (r >= 0)
                r = pin_parse_vcpus(ret, threads, err);
        json_object_put(ret);
        ret = NULL;
        if (r >= 0)
                r = qmp_execute(qmp, "query-iothreads", NULL, CTL_CONNECT_TIMEOUT_MS, &ret, err);
        if (r >= 0)
                r = pin_parse_iothreads(ret, threads, err);
        json_object_put(ret);
        qmp_close(qmp);
        return r;
}

static void thread_label(const struct pin_thread *t, char *buf, size_t len)
{
        if (t->kind == PIN_VCPU)
                snprintf(buf, len, "vCPU %u", t->vcpu);
        else
                snprintf(buf, len, "iothread %s", t->id);
}

enum { OPT_JSON = VL_CLI_OPT_VERB };

static const struct option status_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {0},
};

int cmd_status(int argc, char **argv)
{
        bool json = false;
        const char *name = NULL;
        struct vl_cli_parser p = vl_cli_parser("status", argc, argv, "-:h", status_options);
        const char *arg;
        for (int opt; (opt = vl_cli_next(&p, &arg)) != VL_CLI_END;) {
                switch (opt) {
                case 'h':
                        usage(stdout);
                        return VL_EXIT_OK;
                case OPT_JSON:
                        json = true;
                        break;
                case VL_CLI_WORD:
                        if (vl_cli_take_target("status", "NAME", arg, &name) < 0)
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

        struct vl_error err = {0};
        struct runstate st;
        _cleanup_free_ char *run_dir = NULL;
        int r = ctl_find_running(name, &run_dir, &st, &err);
        if (r < 0) {
                if (json && r == -ESRCH) {
                        struct json_object *o = json_object_new_object();
                        json_object_object_add(o, "name", json_object_new_string(name));
                        json_object_object_add(o, "running", json_object_new_boolean(0));
                        printf("%s\n",
                               json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                         JSON_C_TO_STRING_SPACED));
                        json_object_put(o);
                } else
                        fprintf(stderr, "vmlaunch status: %s\n", err.msg);
                return VL_EXIT_FAILURE;
        }

        char status[64];
        snprintf(status, sizeof(status), "%s", st.phase);
        struct pin_report threads = {0};
        struct vl_error qerr = {0};
        bool asked = st.qemu_pid > 0 &&
                     query_qemu(run_dir, status, sizeof(status), &threads, &qerr) >= 0;
        long long uptime = st.started_s ? (long long)time(NULL) - st.started_s : 0;

        if (json) {
                struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
                json_object_object_add(o, "name", json_object_new_string(name));
                json_object_object_add(o, "running", json_object_new_boolean(1));
                json_object_object_add(o, "state", json_object_new_string(status));
                json_object_object_add(o, "phase", json_object_new_string(st.phase));
                json_object_object_add(o, "pid", json_object_new_int(st.pid));
                json_object_object_add(o, "qemu_pid", json_object_new_int(st.qemu_pid));
                json_object_object_add(o, "uptime_s", json_object_new_int64(uptime));
                json_object_object_add(o, "started", json_object_new_int64(st.started_s));
                for (size_t i = 0; i < threads.count; i++) {
                        const struct pin_thread *t = &threads.threads[i];
                        char cpus[256];
                        read_cpus_allowed(st.qemu_pid, t->tid, cpus, sizeof(cpus));
                        struct json_object *e = json_object_new_object();
                        json_object_object_add(
                                e, "kind",
                                json_object_new_string(t->kind == PIN_VCPU ? "vcpu" : "iothread"));
                        if (t->kind == PIN_VCPU)
                                json_object_object_add(e, "index",
                                                       json_object_new_int((int)t->vcpu));
                        else
                                json_object_object_add(e, "id", json_object_new_string(t->id));
                        json_object_object_add(e, "tid", json_object_new_int(t->tid));
                        json_object_object_add(e, "cpus", json_object_new_string(cpus));
                        json_object_array_add(arr, e);
                }
                json_object_object_add(o, "threads", arr);
                if (!asked && st.qemu_pid > 0)
                        json_object_object_add(o, "error", json_object_new_string(qerr.msg));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                         JSON_C_TO_STRING_SPACED));
                json_object_put(o);
        } else {
                printf("%s: %s\n", name, status);
                printf("  vmlaunch pid %d, QEMU pid %d\n", (int)st.pid, (int)st.qemu_pid);
                if (st.started_s)
                        printf("  up %lld:%02lld:%02lld\n", uptime / 3600, uptime / 60 % 60,
                               uptime % 60);
                if (!asked && st.qemu_pid > 0)
                        printf("  (QEMU's monitor did not answer: %s)\n", qerr.msg);
                for (size_t i = 0; i < threads.count; i++) {
                        char label[96], cpus[256];
                        thread_label(&threads.threads[i], label, sizeof(label));
                        read_cpus_allowed(st.qemu_pid, threads.threads[i].tid, cpus, sizeof(cpus));
                        printf("  %s (tid %d): CPUs %s\n", label, (int)threads.threads[i].tid,
                               cpus);
                }
        }
        pin_report_free(&threads);
        return VL_EXIT_OK;
}
