/* libsystemd (sd-bus, sd-login, sd-journal, sd-daemon), loaded when a unit is queried,
 * stopped, started or re-sliced, a login session is looked up, an inhibitor lock is
 * taken, or `start` and `wake` talk to systemd: a run that changes no unit never maps
 * it. The prototypes come from libsystemd's own headers. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-login.h>

#include "util/dl.h"

/* Loads libsystemd.so.0 once. Returns 0 or a negative errno with err naming the package. */
int dl_systemd_open(struct vl_error *err);

VL_DL_PROTOTYPE(sd_bus_open_system);
VL_DL_PROTOTYPE(sd_bus_flush_close_unref);
VL_DL_PROTOTYPE(sd_bus_slot_unref);
VL_DL_PROTOTYPE(sd_bus_error_free);
VL_DL_PROTOTYPE(sd_bus_process);
VL_DL_PROTOTYPE(sd_bus_wait);
VL_DL_PROTOTYPE(sd_bus_get_fd);
VL_DL_PROTOTYPE(sd_bus_get_events);
VL_DL_PROTOTYPE(sd_bus_get_timeout);
VL_DL_PROTOTYPE(sd_bus_match_signal);
VL_DL_PROTOTYPE(sd_bus_call);
VL_DL_PROTOTYPE(sd_bus_call_method);
VL_DL_PROTOTYPE(sd_bus_get_property);
VL_DL_PROTOTYPE(sd_bus_get_property_string);
VL_DL_PROTOTYPE(sd_bus_get_property_trivial);
VL_DL_PROTOTYPE(sd_bus_message_new_method_call);
VL_DL_PROTOTYPE(sd_bus_message_unref);
VL_DL_PROTOTYPE(sd_bus_message_append);
VL_DL_PROTOTYPE(sd_bus_message_append_array);
VL_DL_PROTOTYPE(sd_bus_message_open_container);
VL_DL_PROTOTYPE(sd_bus_message_close_container);
VL_DL_PROTOTYPE(sd_bus_message_read);
VL_DL_PROTOTYPE(sd_bus_message_read_array);
VL_DL_PROTOTYPE(sd_pid_get_unit);
VL_DL_PROTOTYPE(sd_uid_get_display);
VL_DL_PROTOTYPE(sd_listen_fds);
VL_DL_PROTOTYPE(sd_journal_open);
VL_DL_PROTOTYPE(sd_journal_close);
VL_DL_PROTOTYPE(sd_journal_add_match);
VL_DL_PROTOTYPE(sd_journal_seek_tail);
VL_DL_PROTOTYPE(sd_journal_previous_skip);
VL_DL_PROTOTYPE(sd_journal_next);
VL_DL_PROTOTYPE(sd_journal_get_data);

/* sd-bus's own _cleanup_ helpers call the linked functions; these call the loaded ones.
 * Declare such variables only after dl_systemd_open() succeeded. */
static inline void sym_sd_bus_flush_close_unrefp(sd_bus **bus)
{
        if (*bus)
                sym_sd_bus_flush_close_unref(*bus);
}
static inline void sym_sd_bus_message_unrefp(sd_bus_message **m)
{
        if (*m)
                sym_sd_bus_message_unref(*m);
}
static inline void sym_sd_bus_slot_unrefp(sd_bus_slot **slot)
{
        if (*slot)
                sym_sd_bus_slot_unref(*slot);
}
static inline void sym_sd_journal_closep(sd_journal **j)
{
        if (*j)
                sym_sd_journal_close(*j);
}
static inline void sym_sd_bus_error_free_cleanup(sd_bus_error *e)
{
        sym_sd_bus_error_free(e);
}
