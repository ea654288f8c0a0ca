#include "hostprep/dl_systemd.h"

#include "util/macro.h"

__typeof__(sd_bus_open_system) *sym_sd_bus_open_system;
__typeof__(sd_bus_flush_close_unref) *sym_sd_bus_flush_close_unref;
__typeof__(sd_bus_slot_unref) *sym_sd_bus_slot_unref;
__typeof__(sd_bus_error_free) *sym_sd_bus_error_free;
__typeof__(sd_bus_process) *sym_sd_bus_process;
__typeof__(sd_bus_wait) *sym_sd_bus_wait;
__typeof__(sd_bus_get_fd) *sym_sd_bus_get_fd;
__typeof__(sd_bus_get_events) *sym_sd_bus_get_events;
__typeof__(sd_bus_get_timeout) *sym_sd_bus_get_timeout;
__typeof__(sd_bus_match_signal) *sym_sd_bus_match_signal;
__typeof__(sd_bus_call) *sym_sd_bus_call;
__typeof__(sd_bus_call_method) *sym_sd_bus_call_method;
__typeof__(sd_bus_get_property) *sym_sd_bus_get_property;
__typeof__(sd_bus_get_property_string) *sym_sd_bus_get_property_string;
__typeof__(sd_bus_get_property_trivial) *sym_sd_bus_get_property_trivial;
__typeof__(sd_bus_message_new_method_call) *sym_sd_bus_message_new_method_call;
__typeof__(sd_bus_message_unref) *sym_sd_bus_message_unref;
__typeof__(sd_bus_message_append) *sym_sd_bus_message_append;
__typeof__(sd_bus_message_append_array) *sym_sd_bus_message_append_array;
__typeof__(sd_bus_message_open_container) *sym_sd_bus_message_open_container;
__typeof__(sd_bus_message_close_container) *sym_sd_bus_message_close_container;
__typeof__(sd_bus_message_read) *sym_sd_bus_message_read;
__typeof__(sd_bus_message_read_array) *sym_sd_bus_message_read_array;
__typeof__(sd_pid_get_unit) *sym_sd_pid_get_unit;
__typeof__(sd_uid_get_display) *sym_sd_uid_get_display;
__typeof__(sd_listen_fds) *sym_sd_listen_fds;
__typeof__(sd_journal_open) *sym_sd_journal_open;
__typeof__(sd_journal_close) *sym_sd_journal_close;
__typeof__(sd_journal_add_match) *sym_sd_journal_add_match;
__typeof__(sd_journal_seek_tail) *sym_sd_journal_seek_tail;
__typeof__(sd_journal_previous_skip) *sym_sd_journal_previous_skip;
__typeof__(sd_journal_next) *sym_sd_journal_next;
__typeof__(sd_journal_get_data) *sym_sd_journal_get_data;

int dl_systemd_open(struct vl_error *err)
{
        static void *handle;
        static const struct vl_dl_symbol syms[] = {
                VL_DL_SYMBOL(sd_bus_open_system),
                VL_DL_SYMBOL(sd_bus_flush_close_unref),
                VL_DL_SYMBOL(sd_bus_slot_unref),
                VL_DL_SYMBOL(sd_bus_error_free),
                VL_DL_SYMBOL(sd_bus_process),
                VL_DL_SYMBOL(sd_bus_wait),
                VL_DL_SYMBOL(sd_bus_get_fd),
                VL_DL_SYMBOL(sd_bus_get_events),
                VL_DL_SYMBOL(sd_bus_get_timeout),
                VL_DL_SYMBOL(sd_bus_match_signal),
                VL_DL_SYMBOL(sd_bus_call),
                VL_DL_SYMBOL(sd_bus_call_method),
                VL_DL_SYMBOL(sd_bus_get_property),
                VL_DL_SYMBOL(sd_bus_get_property_string),
                VL_DL_SYMBOL(sd_bus_get_property_trivial),
                VL_DL_SYMBOL(sd_bus_message_new_method_call),
                VL_DL_SYMBOL(sd_bus_message_unref),
                VL_DL_SYMBOL(sd_bus_message_append),
                VL_DL_SYMBOL(sd_bus_message_append_array),
                VL_DL_SYMBOL(sd_bus_message_open_container),
                VL_DL_SYMBOL(sd_bus_message_close_container),
                VL_DL_SYMBOL(sd_bus_message_read),
                VL_DL_SYMBOL(sd_bus_message_read_array),
                VL_DL_SYMBOL(sd_pid_get_unit),
                VL_DL_SYMBOL(sd_uid_get_display),
                VL_DL_SYMBOL(sd_listen_fds),
                VL_DL_SYMBOL(sd_journal_open),
                VL_DL_SYMBOL(sd_journal_close),
                VL_DL_SYMBOL(sd_journal_add_match),
                VL_DL_SYMBOL(sd_journal_seek_tail),
                VL_DL_SYMBOL(sd_journal_previous_skip),
                VL_DL_SYMBOL(sd_journal_next),
                VL_DL_SYMBOL(sd_journal_get_data),
        };
        return vl_dl_open(&handle, "libsystemd.so.0", "libsystemd0", syms, ELEMENTSOF(syms), err);
}
