/* The default unit operations: systemd's D-Bus API (org.freedesktop.systemd1). */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostprep/dl_systemd.h"
#include "hostprep/hostprep.h"
#include "util/cleanup.h"
#include "util/poll_extra.h"
#include "vmdefs/vmdef.h"

#define SD_DEST    "org.freedesktop.systemd1"
#define SD_PATH    "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT    "org.freedesktop.systemd1.Unit"

static int systemd_query(void *userdata, const char *unit, enum hostprep_unit_state *state,
                         char **id, struct vl_error *err)
{
        (void)userdata;
        *state = HOSTPREP_UNIT_MISSING;
        *id = NULL;
        /* without libsystemd there is no systemd (Debian's depends on it): nothing to stop */
        if (dl_systemd_open(NULL) < 0)
                return 0;
        _cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sym_sd_bus_open_system(&bus);
        if (r < 0) /* no system bus: no systemd, nothing to stop */
                return 0;
        r = sym_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", &e, &reply, "s",
                                   unit);
        if (r < 0)
                return 0;
        const char *path;
        if (sym_sd_bus_message_read(reply, "o", &path) < 0)
                return vl_error_set(err, EIO, "systemd: LoadUnit %s: bad reply", unit);
        char *load = NULL, *active = NULL;
        r = sym_sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "LoadState", &e, &load);
        if (r >= 0)
                r = sym_sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "ActiveState", &e,
                                                   &active);
        if (r >= 0)
                r = sym_sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "Id", &e, id);
        if (r < 0) {
                int ret = vl_error_set(err, -r, "systemd: reading the state of %s: %s", unit,
                                       e.message ? e.message : "");
                free(load);
                free(active);
                return ret;
        }
        if (strcmp(load, "loaded") != 0)
                *state = HOSTPREP_UNIT_MISSING;
        else if (!strcmp(active, "active") || !strcmp(active, "activating") ||
                 !strcmp(active, "reloading"))
                *state = HOSTPREP_UNIT_ACTIVE;
        else
                *state = HOSTPREP_UNIT_INACTIVE;
        free(load);
        free(active);
        return 0;
}

struct job_wait {
        const char *job;
        char *result;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        (void)ret_error;
        struct job_wait *w = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        if (sym_sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (!strcmp(path, w->job) && !w->result)
                w->result = strdup(result);
        return 0;
}

static long long now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* True when vmlaunch runs inside a unit that systemd is stopping (vmlaunch@NAME on
 * `systemctl stop`, its ExecStopPost restore). A start job for a unit ordered with
 * ours (vmlaunch@.service is After=display-manager.service) is then ordered after our
 * stop job, which ends only when we exit: waiting for it would deadlock until the
 * timeout. systemd runs it right after our unit has stopped. */
static bool own_unit_stopping(sd_bus *bus)
{
        char *own = NULL, *active = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path;
        int r = sym_sd_pid_get_unit(0, &own);
        if (r >= 0)
                r = sym_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply,
                                           "s", own);
        if (r >= 0)
                r = sym_sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sym_sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "ActiveState", &e,
                                                   &active);
        bool stopping = r >= 0 && !strcmp(active, "deactivating");
        free(own);
        free(active);
        return stopping;
}

/* sd_bus_wait(), but through vl_poll() so the run's events socket is served while a
 * unit stops (up to the job timeout). */
static int wait_bus(sd_bus *bus, long long left_us)
{
        int fd = sym_sd_bus_get_fd(bus);
        int events = sym_sd_bus_get_events(bus);
        uint64_t until = UINT64_MAX;
        if (fd < 0 || events < 0 || sym_sd_bus_get_timeout(bus, &until) < 0)
                return sym_sd_bus_wait(bus, (uint64_t)left_us);
        long long timeout_ms = (left_us + 999) / 1000;
        if (until != UINT64_MAX) { /* the bus's own deadline, CLOCK_MONOTONIC in us */
                long long bus_left_us = (long long)until - now_us();
                long long bus_ms = bus_left_us > 0 ? (bus_left_us + 999) / 1000 : 0;
                if (bus_ms < timeout_ms)
                        timeout_ms = bus_ms;
        }
        struct pollfd p = {.fd = fd, .events = (short)events};
        int r = vl_poll(&p, 1, timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms);
        return r < 0 && errno != EINTR ? -errno : 0;
}

/* Waits for the JobRemoved signal of wait->job (subscribed before the call that
 * queued it, so it cannot be missed). 0 when the job is done. */
static int wait_job(sd_bus *bus, struct job_wait *wait, const char *what, unsigned timeout_ms,
                    struct vl_error *err)
{
        long long deadline = now_us() + (long long)timeout_ms * 1000;
        while (!wait->result) {
                int r = sym_sd_bus_process(bus, NULL);
                if (r < 0)
                        return vl_error_set(err, -r, "%s: waiting for the job", what);
                if (r > 0)
                        continue;
                long long left = deadline - now_us();
                if (left <= 0)
                        return vl_error_set(err, ETIMEDOUT,
                                            "%s: the job did not finish within %u ms", what,
                                            timeout_ms);
                r = wait_bus(bus, left);
                if (r < 0)
                        return vl_error_set(err, -r, "%s: waiting for the job", what);
        }
        return strcmp(wait->result, "done") == 0 ? 0 : -EIO;
}

/* Calls StopUnit/StartUnit and waits for its JobRemoved signal. Returns 1 for a start
 * job left queued because our own unit is stopping (own_unit_stopping). */
static int run_job(const char *method, const char *unit, unsigned timeout_ms, struct vl_error *err)
{
        const char *verb = !strcmp(method, "StopUnit") ? "stop" : "start";
        int r = dl_systemd_open(err);
        if (r < 0)
                return r;
        _cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sym_sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        struct job_wait wait = {0};
        r = sym_sd_bus_open_system(&bus);
        if (r < 0)
                return vl_error_set(err, -r, "%s %s: connecting to the system bus", verb, unit);
        /* subscribe before the call so the signal cannot be missed */
        r = sym_sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                    on_job_removed, &wait);
        if (r < 0)
                return vl_error_set(err, -r, "%s %s: subscribing to JobRemoved", verb, unit);
        r = sym_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e, &reply, "ss",
                                   unit, "replace");
        if (r < 0)
                return vl_error_set(err, -r, "%s %s: %s", verb, unit, e.message ? e.message : "");
        if (sym_sd_bus_message_read(reply, "o", &wait.job) < 0)
                return vl_error_set(err, EIO, "%s %s: bad reply from systemd", verb, unit);
        if (!strcmp(method, "StartUnit") && own_unit_stopping(bus))
                return 1;
        char what[300];
        snprintf(what, sizeof(what), "%s %s", verb, unit);
        r = wait_job(bus, &wait, what, timeout_ms, err);
        if (r == -EIO && wait.result) /* not a bus error: the job's own result */
                vl_error_set(err, EIO, "%s: job ended with '%s' (see `journalctl -u %s`)", what,
                             wait.result, unit);
        free(wait.result);
        return r;
}

static int systemd_stop(void *userdata, const char *unit, unsigned timeout_ms, struct vl_error *err)
{
        (void)userdata;
        return run_job("StopUnit", unit, timeout_ms, err);
}

static int systemd_start(void *userdata, const char *unit, unsigned timeout_ms,
                         struct vl_error *err)
{
        (void)userdata;
        return run_job("StartUnit", unit, timeout_ms, err);
}

/* systemd's CPU sets on D-Bus: byte i holds CPUs 8i..8i+7, lowest bit first. */
static int cpus_to_mask(const char *cpus, uint8_t **mask, size_t *len, struct vl_error *err)
{
        *mask = NULL;
        *len = 0;
        if (!*cpus)
                return 0;
        struct vmdef_cpulist l = {0};
        char why[128];
        if (vmdef_parse_cpulist(cpus, &l, why, sizeof(why)) < 0)
                return vl_error_set(err, EINVAL, "CPU list \"%s\": %s", cpus, why);
        unsigned top = 0;
        for (size_t i = 0; i < l.count; i++)
                top = l.cpus[i] > top ? l.cpus[i] : top;
        *len = top / 8 + 1;
        *mask = calloc(*len, 1);
        if (!*mask) {
                vmdef_cpulist_free(&l);
                return vl_error_set(err, ENOMEM, "CPU mask");
        }
        for (size_t i = 0; i < l.count; i++)
                (*mask)[l.cpus[i] / 8] |= (uint8_t)(1u << (l.cpus[i] % 8));
        vmdef_cpulist_free(&l);
        return 0;
}

static int mask_to_cpus(const uint8_t *mask, size_t len, char **cpus)
{
        unsigned *list = calloc(len * 8 + 1, sizeof(*list));
        *cpus = malloc(len * 8 * 6 + 1);
        if (!list || !*cpus) {
                free(list);
                free(*cpus);
                *cpus = NULL;
                return -ENOMEM;
        }
        size_t n = 0;
        for (size_t i = 0; i < len * 8; i++)
                if (mask[i / 8] & (1u << (i % 8)))
                        list[n++] = (unsigned)i;
        vmdef_cpulist_format(list, n, *cpus, len * 8 * 6 + 1);
        free(list);
        return 0;
}

static const char *unit_interface(const char *unit)
{
        size_t n = strlen(unit);
        return n > 6 && !strcmp(unit + n - 6, ".scope") ? "org.freedesktop.systemd1.Scope"
                                                        : "org.freedesktop.systemd1.Slice";
}

static int systemd_get_allowed_cpus(void *userdata, const char *unit, char **cpus,
                                    struct vl_error *err)
{
        (void)userdata;
        *cpus = NULL;
        int r = dl_systemd_open(err);
        if (r < 0)
                return r;
        _cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *prop = NULL;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path;
        const void *mask = NULL;
        size_t len = 0;
        r = sym_sd_bus_open_system(&bus);
        if (r >= 0)
                r = sym_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", &e,
                                           &reply, "s", unit);
        if (r >= 0)
                r = sym_sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sym_sd_bus_get_property(bus, SD_DEST, path, unit_interface(unit), "AllowedCPUs",
                                            &e, &prop, "ay");
        if (r >= 0)
                r = sym_sd_bus_message_read_array(prop, 'y', &mask, &len);
        if (r < 0)
                return vl_error_set(err, -r, "systemd: reading AllowedCPUs of %s%s%s", unit,
                                    e.message ? ": " : "", e.message ? e.message : "");
        if (mask_to_cpus(mask, len, cpus) < 0)
                return vl_error_set(err, ENOMEM, "AllowedCPUs of %s", unit);
        return 0;
}

static int systemd_set_allowed_cpus(void *userdata, const char *unit, const char *cpus,
                                    struct vl_error *err)
{
        (void)userdata;
        int r = dl_systemd_open(err);
        if (r < 0)
                return r;
        _cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ uint8_t *mask = NULL;
        size_t len;
        r = cpus_to_mask(cpus, &mask, &len, err);
        if (r < 0)
                return r;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        r = sym_sd_bus_open_system(&bus);
        /* runtime: the change dies with the boot, so a crash cannot leave it forever */
        if (r >= 0)
                r = sym_sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                                       "SetUnitProperties");
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "sb", unit, 1);
        if (r >= 0)
                r = sym_sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sym_sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "s", "AllowedCPUs");
        if (r >= 0)
                r = sym_sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0)
                r = sym_sd_bus_message_append_array(m, 'y', mask, len);
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sym_sd_bus_message_close_container(m);
        if (r >= 0)
                r = sym_sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0)
                return vl_error_set(err, -r, "systemd: setting AllowedCPUs=%s on %s%s%s", cpus,
                                    unit, e.message ? ": " : "", e.message ? e.message : "");
        return 0;
}

static int logind_display_session(void *userdata, int uid, char **session)
{
        (void)userdata;
        *session = NULL;
        if (dl_systemd_open(NULL) < 0) /* without libsystemd, logind is not asked */
                return -ENOENT;
        return sym_sd_uid_get_display((uid_t)uid, session);
}

int hostprep_qemu_scope(const char *vm_name, int pid, unsigned timeout_ms, struct vl_error *err)
{
        char scope[300], what[400], description[300];
        snprintf(scope, sizeof(scope), "vmlaunch-%s.scope", vm_name);
        snprintf(what, sizeof(what), "move QEMU (pid %d) into %s in machine.slice", pid, scope);
        snprintf(description, sizeof(description), "QEMU of vmlaunch VM %s", vm_name);
        int r = dl_systemd_open(err);
        if (r < 0)
                return r;
        _cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sym_sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        struct job_wait wait = {0};
        r = sym_sd_bus_open_system(&bus);
        if (r >= 0)
                r = sym_sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                            on_job_removed, &wait);
        if (r >= 0)
                r = sym_sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                                       "StartTransientUnit");
        /* gone with QEMU: a scope ends when its last process does */
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "ss", scope, "fail");
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "a(sv)", 4, "Slice", "s", "machine.slice",
                                              "Description", "s", description, "PIDs", "au", 1,
                                              (uint32_t)pid, "CollectMode", "s",
                                              "inactive-or-failed");
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = sym_sd_bus_call(bus, m, 0, &e, &reply);
        if (r >= 0)
                r = sym_sd_bus_message_read(reply, "o", &wait.job);
        if (r < 0)
                return vl_error_set(err, -r, "%s%s%s", what, e.message ? ": " : "",
                                    e.message ? e.message : "");
        r = wait_job(bus, &wait, what, timeout_ms, err);
        if (r == -EIO && wait.result) /* not a bus error: the job's own result */
                vl_error_set(err, EIO, "%s: job ended with '%s'", what, wait.result);
        free(wait.result);
        return r;
}

const struct hostprep_unit_ops hostprep_systemd_units = {
        .query = systemd_query,
        .stop = systemd_stop,
        .start = systemd_start,
        .get_allowed_cpus = systemd_get_allowed_cpus,
        .set_allowed_cpus = systemd_set_allowed_cpus,
        .display_session = logind_display_session,
};
