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
#include "hostprep/gpu_lost.h"
#include "launcher/status_json.h"
#include "util/exit_codes.h"
#include "run/pin.h"
#include "qmp/qmp.h"
#include "util/cleanup.h"
#include "util/macro.h"

static void usage(FILE *out)
{
        fprintf(out, "Usage: vmlaunch status [--json] NAME\n\n"
                     "Show a running VM's state, vmlaunch's and QEMU's pids, the uptime and the\n"
                     "CPUs each vCPU and iothread may run on (read from /proc). The state is one\n"
                     "of preparing, starting, running, stopping, restoring, stopped and\n"
                     "needs-restore (vmlaunch(1), STATE). Exits 0 while a vmlaunch runs the VM,\n"
                     "1 when it does not (the state is then stopped or needs-restore).\n");
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

/* QEMU's run states (query-status) as status shows the guest. */
static const char *guest_state(const char *qemu_status)
{
        if (streq(qemu_status, "running") || streq(qemu_status, "shutdown") ||
            streq(qemu_status, "suspended"))
                return qemu_status;
        if (streq(qemu_status, "guest-panicked") || streq(qemu_status, "internal-error"))
                return "crashed";
        return "paused"; /* prelaunch, paused, debug, io-error, watchdog, ... */
}

/* RUN_DIR/gpu-lost of this boot: the functions left on vfio-pci, null when none. */
static struct json_object *gpu_lost_json(const struct hostprep_gpu_lost *lost)
{
        if (!lost->count)
                return NULL;
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < lost->count; i++) {
                struct json_object *e = json_object_new_object();
                json_object_object_add(e, "device", json_object_new_string(lost->entries[i].addr));
                json_object_object_add(e, "reason",
                                       json_object_new_string(lost->entries[i].reason));
                json_object_array_add(arr, e);
        }
        return arr;
}

static struct json_object *thread_json(pid_t qemu_pid, const struct pin_thread *t)
{
        char cpus[256];
        read_cpus_allowed(qemu_pid, t->tid, cpus, sizeof(cpus));
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "kind",
                               json_object_new_string(t->kind == PIN_VCPU ? "vcpu" : "iothread"));
        if (t->kind == PIN_VCPU)
                json_object_object_add(e, "index", json_object_new_int((int)t->vcpu));
        else
                json_object_object_add(e, "id", json_object_new_string(t->id));
        json_object_object_add(e, "tid", json_object_new_int(t->tid));
        json_object_object_add(e, "cpus", json_object_new_string(cpus));
        return e;
}

static void print_text(const char *name, const struct runstate *st, bool running)
{
        printf("%s: %s%s%s\n", name, st->state, *st->step ? " " : "", st->step);
        if (!running) {
                if (streq(st->state, "needs-restore"))
                        printf("  the host is still prepared: run `vmlaunch restore %s`\n", name);
                return;
        }
        printf("  vmlaunch pid %d", (int)st->pid);
        if (st->qemu_pid)
                printf(", QEMU pid %d", (int)st->qemu_pid);
        printf("\n");
        if (*st->guest || *st->agent)
                printf("  guest %s%s%s%s\n", *st->guest ? st->guest : "-",
                       *st->agent ? ", agent " : "", st->agent, st->ready ? ", ready" : "");
        long long up = status_uptime_s(st);
        if (st->started_s)
                printf("  up %lld:%02lld:%02lld\n", up / 3600, up / 60 % 60, up % 60);
}

int cmd_status(int argc, char **argv)
{
        bool json;
        const char *name;
        int ex = vl_cli_name_and_json("status", argc, argv, usage, &name, &json);
        if (ex >= 0)
                return ex;

        struct vl_error err = {0};
        struct runstate st;
        bool running = false;
        if (ctl_vm_state(name, &st, &running, &err) < 0) {
                fprintf(stderr, "vmlaunch status: %s\n", err.msg);
                return VL_EXIT_FAILURE;
        }
        _cleanup_free_ char *run_dir = NULL;
        if (runstate_dir(name, &run_dir, &err) < 0) {
                fprintf(stderr, "vmlaunch status: %s\n", err.msg);
                return VL_EXIT_FAILURE;
        }
        /* QEMU's own word on the guest beats the state file, which follows its events. */
        char qemu_status[64] = "";
        struct pin_report threads = {0};
        struct vl_error qerr = {0};
        bool asked = running && st.qemu_pid > 0 &&
                     query_qemu(run_dir, qemu_status, sizeof(qemu_status), &threads, &qerr) >= 0;
        if (asked)
                snprintf(st.guest, sizeof(st.guest), "%s", guest_state(qemu_status));

        struct hostprep_gpu_lost lost = {0};
        bool stale;
        if (hostprep_gpu_lost_read(run_dir, &lost, &stale) <= 0)
                lost = (struct hostprep_gpu_lost){0};
        if (json) {
                struct json_object *o = status_json(name, &st, running), *arr = NULL;
                json_object_object_add(o, "gpu_lost", gpu_lost_json(&lost));
                if (running) {
                        arr = json_object_new_array();
                        for (size_t i = 0; i < threads.count; i++)
                                json_object_array_add(
                                        arr, thread_json(st.qemu_pid, &threads.threads[i]));
                }
                json_object_object_add(o, "threads", arr);
                if (running && !asked && st.qemu_pid > 0)
                        json_object_object_add(o, "error", json_object_new_string(qerr.msg));
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                         JSON_C_TO_STRING_SPACED));
                json_object_put(o);
        } else {
                print_text(name, &st, running);
                for (size_t i = 0; i < lost.count; i++)
                        printf("  GPU %s did not come back healthy after the VM (%s): it stays on vfio-pci; this GPU needs a host reboot\n",
                               lost.entries[i].addr, lost.entries[i].reason);
                if (!asked && st.qemu_pid > 0 && running)
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
        hostprep_gpu_lost_free(&lost);
        return running ? VL_EXIT_OK : VL_EXIT_FAILURE;
}
