/* Starting a unit and following its job over systemd's D-Bus API, as `systemctl start`
 * does (org.freedesktop.systemd1.Manager.StartUnit + the JobRemoved signal). */
#include "launcher/systemd_start.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostprep/dl_systemd.h"
#include "hostprep/sysroot.h"
#include "util/cleanup.h"
#include "util/clock.h"

#define SD_DEST    "org.freedesktop.systemd1"
#define SD_PATH    "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT    "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"

bool systemd_booted(void)
{
        return sysroot_exists("/run/systemd/system");
}

struct job_watch {
        const char *job; /* the object path StartUnit returned */
        char result[32];
        bool removed;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        (void)ret_error;
        struct job_watch *w = userdata;
        uint32_t id;
        const char *path, *unit, *result;
        if (sym_sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (w->job && !w->removed && !strcmp(path, w->job)) {
                snprintf(w->result, sizeof(w->result), "%s", result);
                w->removed = true;
        }
        return 0;
}

/* Handles what the bus has queued, then sleeps in sd_bus_wait until the job's
 * JobRemoved arrived or deadline_ms (monotonic, < 0: none) passed. Returns 1 when it
 * arrived, 0 on the deadline, or a negative errno. */
static int wait_job_removed(sd_bus *bus, struct job_watch *w, long long deadline_ms)
{
        while (!w->removed) {
                int r = sym_sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                uint64_t wait_us = UINT64_MAX;
                if (deadline_ms >= 0) {
                        long long left = deadline_ms - vl_monotonic_ms();
                        if (left <= 0)
                                return 0;
                        wait_us = (uint64_t)left * 1000;
                }
                r = sym_sd_bus_wait(bus, wait_us);
                if (r < 0 && r != -EINTR)
                        return r;
        }
        return 1;
}

static void read_exec_main(sd_bus *bus, const char *unit_path, struct unit_start_result *res)
{
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        int32_t code = 0, status = 0;
        if (sym_sd_bus_get_property_trivial(bus, SD_DEST, unit_path, SD_SERVICE, "ExecMainCode", &e,
                                            'i', &code) < 0 ||
            sym_sd_bus_get_property_trivial(bus, SD_DEST, unit_path, SD_SERVICE, "ExecMainStatus",
                                            &e, 'i', &status) < 0)
                return;
        res->exec_main_code = code;
        res->exec_main_status = status;
}

static void read_invocation_id(sd_bus *bus, const char *unit_path, struct unit_start_result *res)
{
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const uint8_t *id;
        size_t len;
        if (sym_sd_bus_get_property(bus, SD_DEST, unit_path, SD_UNIT, "InvocationID", &e, &reply,
                                    "ay") < 0 ||
            sym_sd_bus_message_read_array(reply, 'y', (const void **)&id, &len) < 0 || len != 16)
                return;
        for (size_t i = 0; i < 16; i++)
                snprintf(res->invocation_id + 2 * i, 3, "%02x", id[i]);
}

int unit_start(const char *unit, bool no_block, long long timeout_ms, struct unit_start_result *res,
               struct vl_error *err)
{
        *res = (struct unit_start_result){0};
        long long deadline_ms = timeout_ms < 0 ? -1 : vl_monotonic_ms() + timeout_ms;
        int r = dl_systemd_open(err);
        if (r < 0)
                return r;
        _cleanup_(sym_sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *loaded = NULL;
        _cleanup_(sym_sd_bus_message_unrefp) sd_bus_message *started = NULL;
        _cleanup_(sym_sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        _cleanup_(sym_sd_bus_error_free_cleanup) sd_bus_error e = SD_BUS_ERROR_NULL;
        struct job_watch watch = {0};

        r = sym_sd_bus_open_system(&bus);
        if (r < 0)
                return vl_error_set(err, -r, "start %s: connecting to the system bus", unit);
        const char *unit_path;
        r = sym_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "LoadUnit", &e, &loaded, "s",
                                   unit);
        if (r < 0)
                return vl_error_set_plain(err, -r, "start %s: %s", unit,
                                          e.message ? e.message : strerror(-r));
        if (sym_sd_bus_message_read(loaded, "o", &unit_path) < 0)
                return vl_error_set_plain(err, EIO, "start %s: bad reply from systemd", unit);
        char *active = NULL;
        r = sym_sd_bus_get_property_string(bus, SD_DEST, unit_path, SD_UNIT, "ActiveState", &e,
                                           &active);
        if (r >= 0 && (!strcmp(active, "active") || !strcmp(active, "reloading"))) {
                free(active);
                res->already_active = true;
                read_invocation_id(bus, unit_path, res);
                return 0;
        }
        free(active);

        /* Subscribed before StartUnit: a job that fails at once (an unknown definition,
         * a refusal) is removed before the call returns, and its signal must be queued
         * for us, not lost. Subscribe makes systemd send job signals at all. */
        r = sym_sd_bus_match_signal(bus, &slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                    on_job_removed, &watch);
        if (r < 0)
                return vl_error_set(err, -r, "start %s: subscribing to JobRemoved", unit);
        r = sym_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, NULL);
        if (r < 0)
                return vl_error_set_plain(err, -r, "start %s: Subscribe: %s", unit,
                                          e.message ? e.message : strerror(-r));
        r = sym_sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "StartUnit", &e, &started,
                                   "ss", unit, "replace");
        if (r < 0)
                return vl_error_set_plain(err, -r, "start %s: %s", unit,
                                          e.message ? e.message : strerror(-r));
        if (sym_sd_bus_message_read(started, "o", &watch.job) < 0)
                return vl_error_set_plain(err, EIO, "start %s: bad reply from systemd", unit);
        if (no_block) {
                res->queued = true;
                return 0;
        }
        r = wait_job_removed(bus, &watch, deadline_ms);
        if (r < 0)
                return vl_error_set(err, -r, "start %s: waiting for the start job", unit);
        if (r == 0) {
                res->gave_up = true;
                return 0;
        }
        snprintf(res->job_result, sizeof(res->job_result), "%s", watch.result);
        read_invocation_id(bus, unit_path, res);
        if (strcmp(watch.result, "done") != 0)
                read_exec_main(bus, unit_path, res);
        return 0;
}

static void append_sanitized(struct vl_strv *lines, const char *msg, size_t len)
{
        char *line = malloc(len + 1);
        if (!line)
                return;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)msg[i];
                line[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        line[len] = '\0';
        vl_strv_push(lines, line);
        free(line);
}

int unit_journal_tail(const char *unit, const char *invocation_id, size_t max_lines,
                      struct vl_strv *lines, struct vl_error *err)
{
        int r = dl_systemd_open(err);
        if (r < 0)
                return r;
        _cleanup_(sym_sd_journal_closep) sd_journal *j = NULL;
        r = sym_sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return vl_error_set(err, -r, "opening the journal");
        char match[256];
        snprintf(match, sizeof(match), "_SYSTEMD_UNIT=%s", unit);
        r = sym_sd_journal_add_match(j, match, 0);
        if (r >= 0 && invocation_id && *invocation_id) {
                snprintf(match, sizeof(match), "_SYSTEMD_INVOCATION_ID=%s", invocation_id);
                r = sym_sd_journal_add_match(j, match, 0);
        }
        if (r < 0)
                return vl_error_set(err, -r, "reading the journal of %s", unit);
        if (sym_sd_journal_seek_tail(j) < 0 || sym_sd_journal_previous_skip(j, max_lines) <= 0)
                return 0; /* nothing logged (or nothing this user may read) */
        do {
                const void *data;
                size_t len;
                if (sym_sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
                        continue;
                append_sanitized(lines, (const char *)data + 8, len - 8); /* "MESSAGE=" */
        } while (sym_sd_journal_next(j) > 0);
        return 0;
}
