/* The default unit operations: systemd's D-Bus API (org.freedesktop.systemd1). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>
#include <time.h>

#include "hostprep/hostprep.h"
#include "hostprep/sysroot.h"

#define SD_DEST    "org.freedesktop.systemd1"
#define SD_PATH    "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT    "org.freedesktop.systemd1.Unit"

static void bus_unrefp(sd_bus **bus)
{
        sd_bus_flush_close_unref(*bus);
}
static void message_unrefp(sd_bus_message **m)
{
        sd_bus_message_unref(*m);
}
static void slot_unrefp(sd_bus_slot **s)
{
        sd_bus_slot_unref(*s);
}

static int systemd_query(void *userdata, const char *unit, enum hostprep_unit_state *state,
                         char **id, struct vl_error *err)
{
        (void)userdata;
        *state = HOSTPREP_UNIT_MISSING;
        *id = NULL;
        if (sysroot_is_fixture()) /* a fixture tree has no systemd: treat as headless */
                return 0;
        __attribute__((cleanup(bus_unrefp))) sd_bus *bus = NULL;
        __attribute__((cleanup(message_unrefp))) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) /* no system bus: no systemd, nothing to stop */
                return 0;
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", &e, &reply, "s",
                               unit);
        if (r < 0) {
                sd_bus_error_free(&e);
                return 0;
        }
        const char *path;
        if (sd_bus_message_read(reply, "o", &path) < 0)
                return vl_error_set(err, EIO, "systemd: LoadUnit %s: bad reply", unit);
        char *load = NULL, *active = NULL;
        r = sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "LoadState", &e, &load);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "ActiveState", &e,
                                               &active);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "Id", &e, id);
        if (r < 0) {
                int ret = vl_error_set(err, -r, "systemd: reading the state of %s: %s", unit,
                                       e.message ? e.message : "");
                sd_bus_error_free(&e);
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
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
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
        sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path;
        int r = sd_pid_get_unit(0, &own);
        if (r >= 0)
                r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply,
                                       "s", own);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "ActiveState", &e,
                                               &active);
        bool stopping = r >= 0 && !strcmp(active, "deactivating");
        sd_bus_error_free(&e);
        sd_bus_message_unref(reply);
        free(own);
        free(active);
        return stopping;
}

/* Calls StopUnit/StartUnit and waits for its JobRemoved signal. Returns 1 for a start
 * job left queued because our own unit is stopping (own_unit_stopping). */
static int run_job(const char *method, const char *unit, unsigned timeout_ms, struct vl_error *err)
{
        const char *verb = !strcmp(method, "StopUnit") ? "stop" : "start";
        if (sysroot_is_fixture())
                return vl_error_set(err, EPERM,
                                    "cannot %s %s: VMLAUNCH_SYSROOT points at a fixture tree, "
                                    "which has no systemd",
                                    verb, unit);
        __attribute__((cleanup(bus_unrefp))) sd_bus *bus = NULL;
        __attribute__((cleanup(message_unrefp))) sd_bus_message *reply = NULL;
        __attribute__((cleanup(slot_unrefp))) sd_bus_slot *slot = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct job_wait wait = {0};
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                return vl_error_set(err, -r, "%s %s: connecting to the system bus", verb, unit);
        /* subscribe before the call so the signal cannot be missed */
        r = sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                on_job_removed, &wait);
        if (r < 0)
                return vl_error_set(err, -r, "%s %s: subscribing to JobRemoved", verb, unit);
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e, &reply, "ss", unit,
                               "replace");
        if (r < 0) {
                int ret =
                        vl_error_set(err, -r, "%s %s: %s", verb, unit, e.message ? e.message : "");
                sd_bus_error_free(&e);
                return ret;
        }
        if (sd_bus_message_read(reply, "o", &wait.job) < 0)
                return vl_error_set(err, EIO, "%s %s: bad reply from systemd", verb, unit);
        if (!strcmp(method, "StartUnit") && own_unit_stopping(bus))
                return 1;
        long long deadline = now_us() + (long long)timeout_ms * 1000;
        while (!wait.result) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return vl_error_set(err, -r, "%s %s: waiting for the job", verb, unit);
                if (r > 0)
                        continue;
                long long left = deadline - now_us();
                if (left <= 0)
                        return vl_error_set(err, ETIMEDOUT,
                                            "%s %s: the job did not finish within %u ms", verb,
                                            unit, timeout_ms);
                r = sd_bus_wait(bus, (uint64_t)left);
                if (r < 0)
                        return vl_error_set(err, -r, "%s %s: waiting for the job", verb, unit);
        }
        int ok = !strcmp(wait.result, "done");
        r = ok ? 0
               : vl_error_set(err, EIO, "%s %s: job ended with '%s' (see `journalctl -u %s`)", verb,
                              unit, wait.result, unit);
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

const struct hostprep_unit_ops hostprep_systemd_units = {
        .query = systemd_query,
        .stop = systemd_stop,
        .start = systemd_start,
};
