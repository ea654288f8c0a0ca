/* Quoting for QEMU option values and for showing argv to humans. */
#pragma once

/* Doubles every ',' so a value cannot start a new QEMU option. malloc'd, NULL on ENOMEM. */
char *qemu_escape_value(const char *value);

/* Quotes one argument for a POSIX shell (only for display: we never run a shell).
 * Plain words are returned unchanged; newlines survive. malloc'd, NULL on ENOMEM. */
char *shell_quote(const char *arg);
