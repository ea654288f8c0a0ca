/* Host preparation and restoration (design stages 2-4 and 8).
 *
 *   hostprep_plan()     inspect the host, list what prepare would change (pure reads)
 *   hostprep_check()    inspect the host, list what would make prepare fail
 *   hostprep_prepare()  run the steps; each change is journaled (fsync) before it is
 *                       made; a failure rolls back what was done and returns < 0
 *   hostprep_restore()  replay RUN_DIR/journal backwards (after QEMU is gone, or from
 *                       `vmlaunch restore` after a crash), then delete it
 *   hostprep_run_hooks() run the user's hooks of one stage (started/begin)
 *
 * Every /sys, /proc, /dev path goes through hostprep/sysroot.h. Whatever differs on a
 * fixture tree (no systemd, no modules, processes that are only /proc/PID folders) is
 * carried by the operations in hostprep_options, never by a test of the root. A build
 * configured with -Dtest-seams=true also reads the tests' environment (VMLAUNCH_SYSROOT,
 * VMLAUNCH_FAIL_STEP, VMLAUNCH_FAIL_UNDO: hostprep/test_seams.h); a release build does
 * not.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct vm_def;

enum hostprep_unit_state { HOSTPREP_UNIT_MISSING, HOSTPREP_UNIT_INACTIVE, HOSTPREP_UNIT_ACTIVE };

/* systemd units; the default talks to org.freedesktop.systemd1 over the system bus. */
struct hostprep_unit_ops {
        void *userdata;
        /* *id (malloc'd, may stay NULL): the unit's real name, display-manager.service ->
         * gdm.service, so processes of an alias's unit are recognised. */
        int (*query)(void *userdata, const char *unit, enum hostprep_unit_state *state, char **id,
                     struct vl_error *err);
        /* Stop/start and wait until the job is done. start may return 1: the job is
         * queued but cannot run before vmlaunch exits (its own unit is stopping). */
        int (*stop)(void *userdata, const char *unit, unsigned timeout_ms, struct vl_error *err);
        int (*start)(void *userdata, const char *unit, unsigned timeout_ms, struct vl_error *err);
        /* AllowedCPUs of a slice or scope as a CPU list, malloc'd ("" when not
         * restricted), and setting it for this boot only ("" lifts the restriction). */
        int (*get_allowed_cpus)(void *userdata, const char *unit, char **cpus,
                                struct vl_error *err);
        int (*set_allowed_cpus)(void *userdata, const char *unit, const char *cpus,
                                struct vl_error *err);
        /* Optional (NULL: none known): the login session showing uid's desktop as
         * logind names it ("3"), malloc'd; *session stays NULL when there is none.
         * Only quoted in advice to the user. */
        int (*display_session)(void *userdata, int uid, char **session);
};

/* Module removal and loading; the default uses libkmod. (Loaded state, holders and
 * reference counts are read from /sys/module through the sysroot.) */
struct hostprep_module_ops {
        void *userdata;
        int (*remove)(void *userdata, const char *module, unsigned timeout_ms,
                      struct vl_error *err);
        /* Loads module and its dependencies (modprobe semantics). */
        int (*insert)(void *userdata, const char *module, struct vl_error *err);
};

/* Waiting for processes to exit (holders of the GPU after their units stopped). The
 * default waits on pidfds; a fixture tree's ops say a process (only a /proc/PID folder
 * there, with nothing behind it to wait on) has exited exactly when that folder is
 * gone. */
struct hostprep_process_ops {
        void *userdata;
        /* Waits until each of pids has exited or deadline_ms (CLOCK_MONOTONIC, in ms)
         * has passed; exited[i] says which did. */
        int (*wait_exit)(void *userdata, const int *pids, size_t n, uint64_t deadline_ms,
                         bool *exited, struct vl_error *err);
};

/* What hostprep_options.progress hears, for the run's events and state. */
enum hostprep_progress {
        HOSTPREP_STEP_BEGIN,    /* a step with something to do starts (desc NULL) */
        HOSTPREP_STEP_DONE,     /* it made all its changes (desc NULL) */
        HOSTPREP_CHANGE_UNDONE, /* one journaled change was undone (desc: which) */
        HOSTPREP_UNDO_FAILED,   /* one could not be (desc: which) */
};

struct hostprep_options {
        const char *run_dir;                   /* holds the journal; prepare creates it (0700) */
        const struct hostprep_unit_ops *units; /* NULL: systemd over D-Bus */
        const struct hostprep_module_ops *modules;    /* NULL: libkmod */
        const struct hostprep_process_ops *processes; /* NULL: pidfds */
        /* One line per host change (priority: LOG_INFO, LOG_WARNING, LOG_ERR). */
        void (*log)(void *userdata, int priority, const char *line);
        void *log_userdata;
        /* Optional: progress of prepare and restore, step by step (userdata: log_userdata). */
        void (*progress)(void *userdata, enum hostprep_progress what, const char *step,
                         const char *desc);
        unsigned timeout_ms; /* per blocking write or unit job; 0: 10 s */
        /* Tests: return right after step k as if vmlaunch had been killed there,
         * leaving the journal behind. 0: off. */
        unsigned crash_after_step;
        /* Tests: failure points that prove the rollback (NULL: off). fail_step
         * "k|name[:n]": apply of step k (1-based, or its name) fails right after its
         * n-th journal record (default 1), so its first n-1 changes are made; a step
         * with fewer records fails once it has made them all. fail_undo "j|name":
         * undoing step j's records fails. */
        const char *fail_step;
        const char *fail_undo;
        /* Tests: "k|name:n": vmlaunch is killed (SIGKILL) right before step k writes
         * its n-th journal record, as a kill between two changes would; what is on the
         * host then must be what restore can undo from the journal alone. NULL: off. */
        const char *kill_before_record;
        /* The caller blocks SIGINT, SIGTERM and SIGHUP to read them later (vmlaunch
         * does): one of them pending stops prepare between two steps and ends a
         * running prepare hook; what was done is rolled back and prepare returns
         * -ECANCELED. The signal stays pending for the caller. */
        bool stop_on_signal;
};

struct hostprep_plan_item {
        char *step;        /* "vfio" */
        char *description; /* "0000:06:00.0 nvidia -> vfio-pci" */
};

struct hostprep_plan {
        struct hostprep_plan_item *items;
        size_t count;
};

struct hostprep_report {
        char **failures; /* what could not be done or undone, one line each */
        size_t n_failures;
        size_t n_undone;         /* changes restore undid */
        bool nothing_to_restore; /* restore found no journal */
        bool journal_kept;       /* some undo failed: the journal stays for another restore */
};

/* The name of host step i (0-based) in the order prepare runs them, NULL past the
 * last: every step, also those with nothing to do for a definition. */
const char *hostprep_step_name(size_t i);

int hostprep_plan(const struct vm_def *def, const struct hostprep_options *opts,
                  struct hostprep_plan *plan, struct vl_error *err);
void hostprep_plan_free(struct hostprep_plan *plan);

/* Returns 0 when the host can run def; -EINVAL with every problem in report otherwise.
 * Changes nothing. */
int hostprep_check(const struct vm_def *def, const struct hostprep_options *opts,
                   struct hostprep_report *report, struct vl_error *err);

/* Returns 0 when the host is prepared (the journal stays until restore). On failure
 * err says what failed, everything done so far has been undone, and report lists any
 * change that could not be undone. -EBUSY: a journal of an earlier run exists.
 * -ECANCELED: stopped by a signal (stop_on_signal). */
int hostprep_prepare(const struct vm_def *def, const struct hostprep_options *opts,
                     struct hostprep_report *report, struct vl_error *err);

/* isolate_cpus confines the host's own slices to the emulator CPUs; QEMU must live
 * outside them, in a scope of its own (vmlaunch-NAME.scope) under machine.slice, as
 * libvirt's guests do. Moves pid there and waits for systemd. Called before QEMU sets
 * its affinity and execs: moving a running process to another cpuset resets the
 * affinity of its threads. */
int hostprep_qemu_scope(const char *vm_name, int pid, unsigned timeout_ms, struct vl_error *err);

/* Undoes the journal in opts->run_dir. Returns 0 when everything was put back or there
 * was nothing to restore (report->nothing_to_restore); -EIO when report lists changes
 * that could not be undone (the journal is kept so restore can be run again).
 * Running it twice is harmless. */
int hostprep_restore(const struct hostprep_options *opts, struct hostprep_report *report,
                     struct vl_error *err);

bool hostprep_journal_exists(const char *run_dir);

/* The NUMA node holding every CPU the vCPUs are pinned to, or -1: unpinned, spread
 * over nodes, or a host with one node. *n_nodes: how many nodes the host has. */
int hostprep_vcpu_numa_node(const struct vm_def *def, int *n_nodes);

struct vmdef_pci_addr;
/* The six BARs of one PCI function, from its sysfs `resource` file. */
#define HOSTPREP_PCI_BARS 6
struct hostprep_pci_bars {
        uint64_t bytes[HOSTPREP_PCI_BARS]; /* 0: unused */
        unsigned mem64_prefetch;           /* bit n: BAR n is 64-bit prefetchable memory */
        uint64_t mem64_prefetch_bytes;     /* their sum */
        unsigned resizable;                /* bit n: resourceN_resize exists (ReBAR) */
};
/* Parses the text of a `resource` file (pure). Returns 0 or -EINVAL. */
int hostprep_pci_bars_parse(const char *resource, struct hostprep_pci_bars *out);
/* Reads addr's ("0000:06:00.0") BARs through the sysroot. Returns 0 or -errno. */
int hostprep_pci_bars_read(const char *addr, struct hostprep_pci_bars *out);

/* The endpoints of the GPU's IOMMU group (bridges excluded), the [gpu] address first,
 * as read from the host. *members is malloc'd; nothing when the VM has no GPU.
 * -ENOENT: the device is not on this host; other errors: no IOMMU group. */
int hostprep_gpu_group(const struct vm_def *def, struct vmdef_pci_addr **members, size_t *n,
                       struct vl_error *err);

/* Runs HOOKS_DIR/NAME/STAGE/ executables in name order, e.g. stage "started/begin".
 * A pending SIGINT/SIGTERM/SIGHUP (blocked by the caller) ends a running hook:
 * -ECANCELED, and the signal stays for the caller. */
int hostprep_run_hooks(const struct vm_def *def, const char *stage, struct vl_error *err);

/* Whether root may run the VM's hooks (every stage): the hooks dir, the VM's dir, each
 * stage dir and each hook, and every directory above them, owned by root and not
 * writable by group or others, and no hook a symlink. Adds one line per refusal,
 * naming the path and the chown/chmod that fixes it. Returns 0 or -ENOMEM. */
struct vl_strv;
int hostprep_check_hooks(const struct vm_def *def, struct vl_strv *problems);

/* Whether root may hand QEMU's user what it opens read-write (the hand-over step):
 * each path reached without a symlink someone other than root could have made, and no
 * regular file with other hard links in a folder others can write. Adds one line per
 * refusal. Returns 0 or -ENOMEM. */
int hostprep_check_handover(const struct vm_def *def, struct vl_strv *problems);

void hostprep_report_free(struct hostprep_report *report);
