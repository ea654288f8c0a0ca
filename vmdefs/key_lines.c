/* Where each key of a definition was written. The raw INI is gone after parsing, but
 * problems found later (a missing firmware file, a GPU address this host lacks, a pin
 * on a CPU it does not have) should still point at the line to change. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmdefs/internal.h"
#include "util/macro.h"

int vmdef_record_key_lines(const struct vmdef_ini *ini, struct vm_def *def)
{
        if (!ini->n_entries)
                return 0;
        def->key_lines = calloc(ini->n_entries, sizeof(*def->key_lines));
        if (!def->key_lines)
                return -ENOMEM;
        for (size_t i = 0; i < ini->n_entries; i++) {
                const struct vmdef_ini_entry *e = &ini->entries[i];
                const struct vmdef_ini_section *sec = &ini->sections[e->section];
                if (sec->ignored)
                        continue;
                struct vmdef_key_line *kl = &def->key_lines[def->n_key_lines];
                kl->section = strdup(sec->name);
                kl->key = strdup(e->key);
                kl->line = e->line;
                def->n_key_lines++; /* counted first, so vmdef_free frees a half copy */
                if (!kl->section || !kl->key)
                        return -ENOMEM;
        }
        return 0;
}

unsigned vmdef_key_line(const struct vm_def *def, const char *section, const char *key)
{
        if (!section || !key)
                return 0;
        /* the first: a key given twice is an error, so there is no later one to prefer */
        for (size_t i = 0; i < def->n_key_lines; i++)
                if (streq(def->key_lines[i].section, section) && streq(def->key_lines[i].key, key))
                        return def->key_lines[i].line;
        return 0;
}
