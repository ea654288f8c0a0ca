/* The undo journal: RUN_DIR/journal, what to put back if vmlaunch dies.
 *
 * Format (text, one record per line, so a crash can tear at most the last line):
 *
 *   vmlaunch-journal 1 vm=win10
 *   vtconsoles desc=rebind%20vtcon1 vtcon=vtcon1
 *   vfio desc=... dev=0000:06:00.0 driver=nvidia override=
 *
 * The first line names the format version. Each record is a step name followed by
 * key=value fields; values are %XX-escaped (space, '%', '=', control bytes). A record
 * counts only when its newline made it to disk: a torn last line is a change that was
 * never started (records are fsync'd before the change they describe), so it is skipped.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define JOURNAL_VERSION 1
#define JOURNAL_FILE    "journal"

struct journal_field {
        char *key;
        char *value;
};

struct journal_record {
        char *step;
        struct journal_field *fields;
        size_t n_fields, cap_fields;
};

struct journal_records {
        char *vm_name;
        struct journal_record *items;
        size_t count, cap;
        bool torn_tail; /* the last line had no newline and was skipped */
};

struct journal;

/* Creates RUN_DIR/journal (RUN_DIR must exist). Fails with -EEXIST when a journal is
 * already there: the host still carries changes of an earlier run. */
int journal_create(const char *run_dir, const char *vm_name, struct journal **out,
                   struct vl_error *err);
/* Appends one record and fsyncs it. fields: key, value, key, value, ..., NULL. */
int journal_append(struct journal *j, const char *step, const char *const *fields,
                   struct vl_error *err);
void journal_close(struct journal *j);

bool journal_exists(const char *run_dir);
/* Reads a journal. Returns -ENOENT (err untouched) when there is none. */
int journal_load(const char *run_dir, struct journal_records *out, struct vl_error *err);
void journal_records_free(struct journal_records *recs);
/* The value of key in rec, or NULL. */
const char *journal_record_get(const struct journal_record *rec, const char *key);
/* Deletes the journal; a missing journal is fine. */
int journal_remove(const char *run_dir, struct vl_error *err);
