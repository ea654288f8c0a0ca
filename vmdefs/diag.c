/* Diagnostics: collect, format, suggest. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdefs/internal.h"
#include "util/array.h"

/* The wrong file (binary data, a log) has a problem on nearly every line: keep the first
 * ones, which is all anyone reads, so memory stays bounded. */
#define MAX_DIAGS 200

void vmdef_diag_add(struct vmdef_diags *diags, enum vmdef_severity severity, unsigned line,
                    const char *section, const char *key, const char *fmt, ...)
{
        if (severity == VMDEF_ERROR)
                diags->n_errors++; /* counted even if the text cannot be stored */
        if (diags->count >= MAX_DIAGS)
                return;
        if (VL_ARRAY_GROW(diags->items, diags->cap, diags->count) < 0)
                return;
        struct vmdef_diag *d = &diags->items[diags->count++];
        memset(d, 0, sizeof(*d));
        d->severity = severity;
        d->line = line;
        if (diags->count == MAX_DIAGS) {
                snprintf(d->msg, sizeof(d->msg),
                         "more problems follow; fix the %d above and check again", MAX_DIAGS - 1);
                return;
        }
        snprintf(d->section, sizeof(d->section), "%s", section ? section : "");
        snprintf(d->key, sizeof(d->key), "%s", key ? key : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
        va_end(ap);
}

void vmdef_diag_format(const struct vmdef_diag *d, const char *file, char *buf, size_t len)
{
        char where[160] = "";
        if (d->section[0] && d->key[0])
                snprintf(where, sizeof(where), "[%s] %s: ", d->section, d->key);
        else if (d->section[0])
                snprintf(where, sizeof(where), "[%s]: ", d->section);
        else if (d->key[0])
                snprintf(where, sizeof(where), "%s: ", d->key);
        const char *sev = d->severity == VMDEF_WARNING ? "warning: " : "";
        if (d->line)
                snprintf(buf, len, "%s:%u: %s%s%s", file, d->line, sev, where, d->msg);
        else
                snprintf(buf, len, "%s: %s%s%s", file, sev, where, d->msg);
}

void vmdef_diags_free(struct vmdef_diags *diags)
{
        free(diags->items);
        memset(diags, 0, sizeof(*diags));
}

size_t vmdef_edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return 64;
        size_t row[65];
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t cost = tolower((unsigned char)a[i - 1]) !=
                                      tolower((unsigned char)b[j - 1]);
                        size_t best = diag + cost;
                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

bool vmdef_is_close(const char *typed, const char *candidate)
{
        size_t d = vmdef_edit_distance(typed, candidate);
        size_t n = strlen(typed);
        /* Two edits for real words, one for very short ones. */
        return d <= (n <= 3 ? 1u : n <= 5 ? 2u : 3u) && d < n;
}

void vmdef_quote_value(const char *s, char *buf, size_t len)
{
        const size_t max = 60;
        if (strlen(s) <= max || len <= max + 4)
                snprintf(buf, len, "%s", s);
        else
                snprintf(buf, len, "%.*s...", (int)max, s);
}

bool vmdef_id_valid(const char *id)
{
        if (!isalpha((unsigned char)id[0]))
                return false;
        for (const char *p = id; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
                        return false;
        return true;
}
