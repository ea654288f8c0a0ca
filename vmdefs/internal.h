/* Private to vmdefs/: the raw INI model shared by the reader, the key table and
 * the validator. Not included outside this folder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vmdefs/vmdef.h"

/* One `[section]` header as written. */
struct vmdef_ini_section {
        char *name; /* "disk.main" */
        unsigned line;
        bool ignored; /* unknown or given twice: its keys are not applied */
};

/* One `key = value`, continuation lines already joined with a space. */
struct vmdef_ini_entry {
        size_t section; /* index into sections */
        char *key;
        char *value;
        unsigned line;
};

struct vmdef_ini {
        struct vmdef_ini_section *sections;
        size_t n_sections, cap_sections;
        struct vmdef_ini_entry *entries;
        size_t n_entries, cap_entries;
        bool saw_content; /* any non-blank, non-comment line */
};

/* parse.c: text -> sections and entries, syntax problems into diags. Returns 0 or
 * -ENOMEM. */
int vmdef_ini_read(const char *text, size_t len, struct vmdef_ini *ini, struct vmdef_diags *diags);
void vmdef_ini_free(struct vmdef_ini *ini);
/* The entry for key in the (first) section called section_name, or NULL. */
const struct vmdef_ini_entry *vmdef_ini_find(const struct vmdef_ini *ini, const char *section_name,
                                             const char *key);

/* keys.c: section and key tables. */
/* Checks a section name; fills a diagnostic (with suggestion) and returns false when it
 * is not one vmlaunch knows. */
bool vmdef_section_known(const char *name, unsigned line, struct vmdef_diags *diags);
/* Sets every default that does not depend on other keys. Returns 0 or -ENOMEM. */
int vmdef_set_defaults(struct vm_def *def);
/* Applies every entry to def; unknown keys, duplicates and bad values go to diags.
 * Returns 0 or -ENOMEM. */
int vmdef_apply_ini(const struct vmdef_ini *ini, struct vm_def *def, struct vmdef_diags *diags);

/* key_lines.c: remembers where each applied key was written. Returns 0 or -ENOMEM. */
int vmdef_record_key_lines(const struct vmdef_ini *ini, struct vm_def *def);

/* validate.c: defaults that depend on other keys, then cross-field checks. Returns 0 or
 * -ENOMEM. */
int vmdef_finish_and_validate(struct vm_def *def, const struct vmdef_ini *ini,
                              struct vmdef_diags *diags);

/* qemu_args.c: refuses [qemu] args that would replace what vmlaunch sets (monitors,
 * user, sandbox, machine, display, ...) or reuse one of its chardev ids. */
void vmdef_check_qemu_args(const struct vm_def *def, unsigned line, struct vmdef_diags *diags);

/* diag.c */
/* Levenshtein distance, case-insensitive; for "did you mean" suggestions. */
size_t vmdef_edit_distance(const char *a, const char *b);
/* True when `candidate` is close enough to `typed` to suggest it. */
bool vmdef_is_close(const char *typed, const char *candidate);
/* Copies s for a message, cut to max bytes with "..." so one value cannot flood a line. */
void vmdef_quote_value(const char *s, char *buf, size_t len);

/* Valid QEMU id: a letter, then letters, digits, '-', '_', '.'. */
bool vmdef_id_valid(const char *id);
