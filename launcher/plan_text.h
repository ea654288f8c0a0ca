/* The QEMU command line as `vmlaunch plan` shows it to people. */
#pragma once

#include "util/strv.h"

/* Lays argv out for a shell: argv[0] on the first line, then one QEMU option and its
 * value per line, indented, every line but the last ending in " \", every word
 * shell-quoted, so the block pasted into a shell runs exactly argv. Appends the
 * lines (without '\n') to *lines. Returns 0 or -ENOMEM. */
int plan_text_command_lines(const struct vl_strv *argv, struct vl_strv *lines);
