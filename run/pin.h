/* Pinning QEMU's threads before the guest runs: vCPU threads from
 * query-cpus-fast, iothreads from query-iothreads, each set with
 * sched_setaffinity and read back; the emulator (QEMU's main thread and every
 * thread it starts) already got its CPUs at spawn. */
#pragma once

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"
#include "vmdefs/vmdef.h"

struct json_object;
struct qmp_client;

enum pin_kind { PIN_EMULATOR, PIN_VCPU, PIN_IOTHREAD };

struct pin_thread {
        enum pin_kind kind;
        unsigned vcpu; /* PIN_VCPU: QMP's cpu-index */
        char id[64];   /* PIN_IOTHREAD: the iothread's id */
        pid_t tid;
        bool pinned; /* false: left with the CPUs it inherited */
        cpu_set_t wanted;
        cpu_set_t actual; /* read back after pinning */
};

struct pin_report {
        struct pin_thread *threads;
        size_t count;
        size_t cap; /* allocated items of threads */
};

/* Pins every vCPU and iothread of a paused QEMU as the definition says, then
 * reads every thread's affinity back and fails unless it is what was asked.
 * vCPUs without a pin get all_cpus (vmlaunch's own affinity) rather than the
 * emulator CPUs they inherited. The report lists the emulator first. */
int pin_qemu_threads(struct qmp_client *qmp, const struct vm_def *def, pid_t qemu_pid,
                     const cpu_set_t *all_cpus, struct pin_report *out, struct vl_error *err);

void pin_report_free(struct pin_report *r);

/* Appends one PIN_VCPU entry per element of a query-cpus-fast reply
 * ([{"cpu-index": N, "thread-id": TID, ...}]), sorted by cpu-index. */
int pin_parse_vcpus(struct json_object *ret, struct pin_report *r, struct vl_error *err);

/* Appends one PIN_IOTHREAD entry per element of a query-iothreads reply
 * ([{"id": ID, "thread-id": TID, ...}]). */
int pin_parse_iothreads(struct json_object *ret, struct pin_report *r, struct vl_error *err);

/* "3", "0,1", "0,3,5-7" (vmdef_cpulist_format); "none" for an empty set. */
void pin_format_cpus(const cpu_set_t *set, char *buf, size_t len);

/* One log line: "vCPU 3 (tid 1234) -> CPU 3", "iothread io1 (tid 1240) -> CPUs 0,1",
 * "emulator (pid 1200) -> CPUs 0,3"; threads left alone say "unpinned". */
void pin_describe(const struct pin_thread *t, char *buf, size_t len);

/* A definition's CPU list as a set; -EINVAL when a CPU is beyond CPU_SETSIZE. */
int pin_cpulist_to_set(const struct vmdef_cpulist *l, cpu_set_t *set, struct vl_error *err);
