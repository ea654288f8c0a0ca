/* Test support for hostprep: fixture trees, a fake kernel behind their sysfs files,
 * fake module and unit operations, and tree snapshots for "byte-identical" checks.
 *
 * A fixture is a manifest in tests/fixtures/sysfs/NAME.tree, materialized into a temp
 * directory TMP with TMP/root (the sysroot), TMP/fake (the fake kernel's own state:
 * which driver matches which device, unloaded modules, units) and TMP/run (the
 * runtime dir with the journal). Manifest lines (paths relative to TMP/root, or to
 * TMP/fake/modstash/MODULE/ inside a "stash MODULE" block, i.e. an unloaded module):
 *
 *   include NAME                      another manifest
 *   file PATH [CONTENT...]            a file holding CONTENT + "\n" ("file PATH" = empty)
 *   append PATH TEXT                  adds the line TEXT (everything after the one space
 *                                     that follows PATH, indentation kept) to the file:
 *                                     multi-line files such as /proc/iomem, resource
 *   link PATH TARGET                  a symlink
 *   dir PATH
 *   pcidev ADDR CLASS GROUP DRIVER [MATCH]
 *                                     a PCI device in IOMMU group GROUP, bound to
 *                                     DRIVER ("-": unbound); the kernel matches MATCH
 *                                     (default DRIVER): the driver a probe without
 *                                     driver_override binds it to
 *                                     Its config space reads 1234:1111 with no
 *                                     capabilities (healthy) unless pciconfig says more.
 *   pciconfig ADDR OFFSET HEX...      writes bytes (hex, at most 13) at OFFSET (hex)
 *                                     into ADDR's 256-byte config space
 *   pcidriver NAME MODULE             a PCI driver provided by MODULE ("-": built in)
 *   module NAME REFCNT [HOLDER...]    /sys/module/NAME
 *   platdev NAME DRIVER               a platform device bound to DRIVER (framebuffers)
 *   unit NAME STATE                   a systemd unit of the fake (active|inactive)
 *   stash MODULE / endstash           what appears when MODULE is loaded
 *
 * The fake kernel applies the effect of writes: driver_override (a newline clears it
 * to "(null)"), drivers/D/unbind and bind, drivers_probe (binds to the override or the
 * matched driver if loaded), nr_hugepages (capped by TMP/fake/hugepages_free_KB),
 * compact_memory (discarded), a PCI function's reset (logged in TMP/fake/resets; it
 * restores TMP/fake/reset_heals/ADDR as the config space when the test put one there).
 * Module removal moves the module and its drivers into
 * the stash (refusing while holders remain), loading moves them back and each of its
 * drivers probes the devices without a driver (for itself only, like the kernel).
 *
 * Processes are /proc/PID folders. Stopping a unit kills its processes (those whose
 * cgroup ends in the unit's real name) by moving them to TMP/fake/procstash, except
 * the pids listed in TMP/fake/linger ("1200 1400"), which outlive the stop job;
 * starting the unit brings them back. Waiting for processes (the fake process ops)
 * returns at once: a pid listed in TMP/fake/exits_when_waited exits then (stashed),
 * the rest that are still in /proc survive the deadline.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hostprep/hostprep.h"
#include "vmdefs/vmdef.h"

struct fixture {
        char tmp[256];
        char root[300];
        char fake[300];
        char run[300];
        char hooks[300];
        struct hostprep_unit_ops units;
        struct hostprep_module_ops modules;
        struct hostprep_process_ops processes;
        char waited[256]; /* the pids the fake was asked to wait for, "1200 1400 " */
        struct hostprep_options opts;
        struct vm_def *def;
};

/* Materializes tests/fixtures/sysfs/NAME.tree, loads the INI text as the definition,
 * points the sysroot at it and installs the fake kernel. Aborts the test on failure. */
void fixture_setup(struct fixture *f, const char *tree_name, const char *ini_text);
void fixture_teardown(struct fixture *f);

/* A sorted dump of TMP/root and TMP/fake: every path with its type and content or
 * link target (malloc'd). Equal snapshots = byte-identical trees. */
char *fixture_snapshot(const struct fixture *f);
/* Prints the first differing line of two snapshots (for failure messages). */
void fixture_print_diff(const char *before, const char *after);

/* Reads a file under TMP/root ("" when missing), for assertions. */
void fixture_read(const struct fixture *f, const char *path, char *buf, size_t len);
/* Reads a file under TMP ("fake/allowed/user.slice"), "" when missing, without the
 * trailing newline. */
void fixture_read_tmp(const struct fixture *f, const char *rel, char *buf, size_t len);
/* The driver of a PCI device in the fixture ("" when unbound). */
void fixture_driver(const struct fixture *f, const char *addr, char *buf, size_t len);
bool fixture_exists(const struct fixture *f, const char *path);
/* Writes a file under TMP (not TMP/root): "fake/units/x.service", ... */
void fixture_write_tmp(const struct fixture *f, const char *rel, const char *content);
/* Lines of the plan joined with "\n" as "step: description" (malloc'd). */
char *fixture_plan_text(const struct hostprep_plan *plan);
