#include "run/pin.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp.h"
#include "util/array.h"
#include "util/macro.h"

#define PIN_QMP_TIMEOUT_MS 5000

static int report_add(struct pin_report *r, struct pin_thread **t)
{
        if (VL_ARRAY_GROW(r->threads, r->cap, r->count) < 0)
                return -ENOMEM;
        *t = &r->threads[r->count++];
        memset(*t, 0, sizeof(**t));
        return 0;
}

void pin_report_free(struct pin_report *r)
{
        free(r->threads);
        *r = (struct pin_report){0};
}

static bool get_int(struct json_object *o, const char *key, int64_t *v)
{
        struct json_object *x;
        if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int))
                return false;
        *v = json_object_get_int64(x);
        return true;
}

static int by_vcpu(const void *a, const void *b)
{
        const struct pin_thread *x = a, *y = b;
        return (x->vcpu > y->vcpu) - (x->vcpu < y->vcpu);
}

int pin_parse_vcpus(struct json_object *ret, struct pin_report *r, struct vl_error *err)
{
        if (!json_object_is_type(ret, json_type_array))
                return vl_error_set(err, EPROTO, "query-cpus-fast did not return an array");
        size_t first = r->count;
        for (size_t i = 0; i < json_object_array_length(ret); i++) {
                struct json_object *cpu = json_object_array_get_idx(ret, i);
                int64_t index, tid;
                if (!get_int(cpu, "cpu-index", &index) || !get_int(cpu, "thread-id", &tid) ||
                    index < 0 || tid <= 0)
                        return vl_error_set(
                                err, EPROTO,
                                "query-cpus-fast: entry %zu has no cpu-index or thread-id", i);
                struct pin_thread *t;
                if (report_add(r, &t) < 0)
                        return -ENOMEM;
                t->kind = PIN_VCPU;
                t->vcpu = (unsigned)index;
                t->tid = (pid_t)tid;
        }
        qsort(r->threads + first, r->count - first, sizeof(*r->threads), by_vcpu);
        return 0;
}

int pin_parse_iothreads(struct json_object *ret, struct pin_report *r, struct vl_error *err)
{
        if (!json_object_is_type(ret, json_type_array))
                return vl_error_set(err, EPROTO, "query-iothreads did not return an array");
        for (size_t i = 0; i < json_object_array_length(ret); i++) {
                struct json_object *io = json_object_array_get_idx(ret, i), *id;
                int64_t tid;
                if (!json_object_object_get_ex(io, "id", &id) ||
                    !json_object_is_type(id, json_type_string) || !get_int(io, "thread-id", &tid) ||
                    tid <= 0)
                        return vl_error_set(err, EPROTO,
                                            "query-iothreads: entry %zu has no id or thread-id", i);
                struct pin_thread *t;
                if (report_add(r, &t) < 0)
                        return -ENOMEM;
                t->kind = PIN_IOTHREAD;
                snprintf(t->id, sizeof(t->id), "%s", json_object_get_string(id));
                t->tid = (pid_t)tid;
        }
        return 0;
}

int pin_cpulist_to_set(const struct vmdef_cpulist *l, cpu_set_t *set, struct vl_error *err)
{
        CPU_ZERO(set);
        for (size_t i = 0; i < l->count; i++) {
                if (l->cpus[i] >= CPU_SETSIZE)
                        return vl_error_set(err, EINVAL,
                                            "CPU %u is beyond what vmlaunch supports (%d CPUs)",
                                            l->cpus[i], CPU_SETSIZE);
                CPU_SET(l->cpus[i], set);
        }
        return 0;
}

void pin_format_cpus(const cpu_set_t *set, char *buf, size_t len)
{
        unsigned cpus[CPU_SETSIZE];
        size_t n = 0;
        for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
                if (CPU_ISSET(cpu, set))
                        cpus[n++] = cpu;
        if (n)
                vmdef_cpulist_format(cpus, n, buf, len);
        else
                snprintf(buf, len, "none");
}

static const char *thread_name(const struct pin_thread *t, char *buf, size_t len)
{
        switch (t->kind) {
        case PIN_VCPU:
                snprintf(buf, len, "vCPU %u (tid %d)", t->vcpu, (int)t->tid);
                break;
        case PIN_IOTHREAD:
                snprintf(buf, len, "iothread %s (tid %d)", t->id, (int)t->tid);
                break;
        default:
                snprintf(buf, len, "emulator (pid %d)", (int)t->tid);
                break;
        }
        return buf;
}

void pin_describe(const struct pin_thread *t, char *buf, size_t len)
{
        char name[96], cpus[256];
        thread_name(t, name, sizeof(name));
        pin_format_cpus(&t->actual, cpus, sizeof(cpus));
        snprintf(buf, len, "%s -> %s %s%s", name, CPU_COUNT(&t->actual) == 1 ? "CPU" : "CPUs", cpus,
                 t->pinned ? "" : " (unpinned)");
}

static const struct vmdef_iothread *find_iothread(const struct vm_def *def, const char *id)
{
        for (size_t i = 0; i < def->n_iothreads; i++)
                if (streq(def->iothreads[i].id, id))
                        return &def->iothreads[i];
        return NULL;
}

/* Decides what each thread found over QMP should get. */
static int plan_pins(const struct vm_def *def, const cpu_set_t *all_cpus, struct pin_report *r,
                     struct vl_error *err)
{
        for (size_t i = 0; i < r->count; i++) {
                struct pin_thread *t = &r->threads[i];
                for (size_t j = 0; j < i; j++)
                        if (r->threads[j].tid == t->tid && t->kind == PIN_VCPU &&
                            r->threads[j].kind == PIN_VCPU)
                                return vl_error_set(
                                        err, EINVAL,
                                        "vCPUs %u and %u share thread %d, so they cannot be pinned apart; use KVM or multi-threaded TCG (tcg,thread=multi)",
                                        r->threads[j].vcpu, t->vcpu, (int)t->tid);
                if (t->kind == PIN_VCPU) {
                        if (t->vcpu < def->vcpu_pin.count) {
                                unsigned cpu = def->vcpu_pin.cpus[t->vcpu];
                                if (cpu >= CPU_SETSIZE)
                                        return vl_error_set(err, EINVAL,
                                                            "vCPU %u: CPU %u is out of range",
                                                            t->vcpu, cpu);
                                CPU_ZERO(&t->wanted);
                                CPU_SET(cpu, &t->wanted);
                                t->pinned = true;
                        } else if (def->emulator_pin.count) {
                                /* It inherited the emulator CPUs; an unpinned vCPU
                                 * may run anywhere vmlaunch may. */
                                t->wanted = *all_cpus;
                                t->pinned = true;
                        }
                } else if (t->kind == PIN_IOTHREAD) {
                        const struct vmdef_iothread *io = find_iothread(def, t->id);
                        if (io && io->pin.count) {
                                int rr = pin_cpulist_to_set(&io->pin, &t->wanted, err);
                                if (rr < 0)
                                        return vl_error_prefix(err, "iothread %s", t->id);
                                t->pinned = true;
                        }
                }
        }
        return 0;
}

int pin_qemu_threads(struct qmp_client *qmp, const struct vm_def *def, pid_t qemu_pid,
                     const cpu_set_t *all_cpus, struct pin_report *out, struct vl_error *err)
{
        struct pin_report r = {0};
        struct json_object *ret = NULL;
        struct pin_thread *emu;
        int rc = report_add(&r, &emu);
        if (rc < 0)
                goto out;
        emu->kind = PIN_EMULATOR;
        emu->tid = qemu_pid;
        if (def->emulator_pin.count) {
                rc = pin_cpulist_to_set(&def->emulator_pin, &emu->wanted, err);
                if (rc < 0)
                        goto out;
                emu->pinned = true; /* set before exec; only verified here */
        }

        rc = qmp_execute(qmp, "query-cpus-fast", NULL, PIN_QMP_TIMEOUT_MS, &ret, err);
        if (rc < 0)
                goto out;
        rc = pin_parse_vcpus(ret, &r, err);
        json_object_put(ret);
        ret = NULL;
        if (rc < 0)
                goto out;
        rc = qmp_execute(qmp, "query-iothreads", NULL, PIN_QMP_TIMEOUT_MS, &ret, err);
        if (rc < 0)
                goto out;
        rc = pin_parse_iothreads(ret, &r, err);
        json_object_put(ret);
        ret = NULL;
        if (rc < 0)
                goto out;
        for (size_t i = 0; i < def->n_iothreads; i++) {
                bool found = false;
                for (size_t j = 0; j < r.count; j++)
                        found |= r.threads[j].kind == PIN_IOTHREAD &&
                                 streq(r.threads[j].id, def->iothreads[i].id);
                if (!found) {
                        rc = vl_error_set(
                                err, ENOENT,
                                "iothread %s of the definition is not in QEMU's query-iothreads",
                                def->iothreads[i].id);
                        goto out;
                }
        }
        rc = plan_pins(def, all_cpus, &r, err);
        if (rc < 0)
                goto out;

        char name[96], cpus[256];
        for (size_t i = 0; i < r.count; i++) {
                struct pin_thread *t = &r.threads[i];
                if (!t->pinned || t->kind == PIN_EMULATOR)
                        continue;
                if (sched_setaffinity(t->tid, sizeof(t->wanted), &t->wanted) < 0) {
                        pin_format_cpus(&t->wanted, cpus, sizeof(cpus));
                        bool one = CPU_COUNT(&t->wanted) == 1;
                        rc = vl_error_set(
                                err, errno,
                                "pin %s to %s %s (%s online and inside vmlaunch's cpuset?)",
                                thread_name(t, name, sizeof(name)), one ? "CPU" : "CPUs", cpus,
                                one ? "is it" : "are they");
                        goto out;
                }
        }
        /* Read everything back: the kernel may silently narrow a mask (cpuset
         * cgroups), and the guest must never run unpinned. */
        for (size_t i = 0; i < r.count; i++) {
                struct pin_thread *t = &r.threads[i];
                if (sched_getaffinity(t->tid, sizeof(t->actual), &t->actual) < 0) {
                        rc = vl_error_set(err, errno, "read the affinity of %s",
                                          thread_name(t, name, sizeof(name)));
                        goto out;
                }
                if (t->pinned && !CPU_EQUAL(&t->actual, &t->wanted)) {
                        char wanted[256];
                        pin_format_cpus(&t->wanted, wanted, sizeof(wanted));
                        pin_format_cpus(&t->actual, cpus, sizeof(cpus));
                        rc = vl_error_set(err, EIO, "%s runs on CPUs %s instead of %s",
                                          thread_name(t, name, sizeof(name)), cpus, wanted);
                        goto out;
                }
        }
        *out = r;
        return 0;
out:
        pin_report_free(&r);
        return rc;
}
