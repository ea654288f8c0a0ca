/* One place that turns a system path (/sys, /proc, /dev, /run) into the path to open.
 *
 * Production uses the real root. Tests point the root at a directory shaped like / (a
 * fixture tree) with sysroot_set(), or, in a build with -Dtest-seams=true, with
 * VMLAUNCH_SYSROOT (hostprep/test_seams.h), and run exactly the same code. Nothing in
 * hostprep opens a system path any other way.
 *
 * The root is process-wide state rather than a field of struct hostprep_ctx: the path
 * helpers are called from every corner of hostprep (inspection outside any ctx, the
 * deadline helper processes), and one process only ever looks at one root. Nothing
 * else may depend on which root it is: what differs on a fixture tree is carried by
 * the operations in hostprep_options. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Sets the root ("" or NULL: the real /). Overrides VMLAUNCH_SYSROOT in a test-seams
 * build. */
void sysroot_set(const char *root);
/* The root in use: "" for the real /, else a directory without a trailing '/'. */
const char *sysroot_get(void);

/* Writes ROOT + the formatted absolute path into buf. Returns 0 or -ENAMETOOLONG. */
int sysroot_path(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads the first line of a system file (no trailing newline). Returns 0, -errno. */
int sysroot_read_line(const char *path, char *buf, size_t len);
/* Reads a whole (small) file into a malloc'd, NUL-terminated buffer. */
int sysroot_read_file(const char *path, char **out);
/* The last component of a symlink's target ("driver" -> "nvidia"). Returns 0, -errno. */
int sysroot_link_basename(const char *path, char *buf, size_t len);
bool sysroot_exists(const char *path);
/* The entries of a system directory, sorted, without "." and "..". */
struct vl_strv;
int sysroot_list_dir(const char *path, struct vl_strv *out);
/* The same for a path outside the system root (configuration, hooks). */
int list_dir_sorted(const char *path, struct vl_strv *out);
/* Writes value to a system file that cannot block (vtconsole bind, governor, hugepages):
 * one write(2), as the kernel expects a sysfs attribute to be written. */
int sysroot_write(const char *path, const char *value, struct vl_error *err);

/* Test seam: a fixture tree has no kernel behind its sysfs files, so tests install a
 * "fake kernel" that applies the effect of each write (unbind removes the driver link,
 * nr_hugepages reserves at most what is free, ...). sysroot_write calls it instead of
 * writing; deadline_write runs it in the helper process, like the real write. */
typedef int (*sysroot_write_hook_fn)(const char *path, const char *value, struct vl_error *err);
void sysroot_set_write_hook(sysroot_write_hook_fn hook);
/* The plain write, bypassing the hook (for the hook itself). */
int sysroot_write_raw(const char *path, const char *value, struct vl_error *err);
