/* A VM's run dir, RUN_DIR = $VMLAUNCH_RUNTIME_DIR/NAME (default /run/vmlaunch/NAME),
 * mode 0700: the lock that lets one NAME run once at a time, and the state
 * file that `status` and `stop` read. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define RUNSTATE_DEFAULT_ROOT "/run/vmlaunch"

/* Names of the files inside RUN_DIR. */
#define RUNSTATE_LOCK_FILE     "lock"
#define RUNSTATE_STATE_FILE    "state"
#define RUNSTATE_QMP_SOCKET    "qmp.sock"
#define RUNSTATE_CTL_SOCKET    "ctl.qmp"
#define RUNSTATE_EVENTS_SOCKET "events.sock"
#define RUNSTATE_AGENT_SOCKET  "agent.sock"

/* RUN_DIR of a VM name, malloc'd. -EINVAL (err set) for a name that is not a
 * plain file name. */
int runstate_dir(const char *name, char **dir, struct vl_error *err);

/* Creates RUN_DIR (and the runtime root) if needed and makes it 0700, owned by us. */
int runstate_dir_create(const char *dir, struct vl_error *err);

/* Takes the lock on RUN_DIR/lock and writes our pid and the time into it.
 * Returns the lock's descriptor (held until closed), or -EBUSY with err saying
 * which pid holds it since when, or another -errno. */
int runstate_lock(const char *dir, const char *name, struct vl_error *err);

/* 1 when some process holds the lock of RUN_DIR (the VM runs), 0 when not. */
int runstate_is_locked(const char *dir);

/* What a running `vmlaunch run` publishes for `status` and `stop`. */
struct runstate {
        pid_t pid;           /* the supervising vmlaunch */
        pid_t qemu_pid;      /* 0 before QEMU is started */
        uint64_t qemu_start; /* QEMU's start time (/proc/PID/stat), so that `restore`
                              * never mistakes another process on a reused pid for it */
        char state[16];      /* run/session.h: "preparing", "starting", "running", ... */
        char step[48];       /* preparing, restoring: the host step at work, or "" */
        char guest[16];      /* "running", "paused", "shutdown"; "" before QEMU */
        char agent[8];       /* "up", "down"; "" without [guest] agent */
        bool ready;          /* [session] ready holds (READY=1 went to systemd) */
        int64_t started_s;   /* realtime seconds when the guest was let run */
        unsigned shutdown_timeout_s;
};

/* Replaces RUN_DIR/state atomically (write + rename). */
int runstate_write(const char *dir, const struct runstate *st, struct vl_error *err);

/* Reads RUN_DIR/state. -ENOENT when there is none. */
int runstate_read(const char *dir, struct runstate *st, struct vl_error *err);

/* Removes what a run leaves in RUN_DIR (state, sockets, lock) and RUN_DIR itself
 * when it is then empty (a journal waiting for restore keeps it). Call while
 * still holding the lock; the lock descriptor is closed. */
void runstate_cleanup(const char *dir, int lock_fd);

/* RUN_DIR/FILE, malloc'd (NULL on ENOMEM). */
char *runstate_path(const char *dir, const char *file);

/* The runtime root holding every RUN_DIR: $VMLAUNCH_RUNTIME_DIR, else /run/vmlaunch. */
const char *runstate_root(void);
