/* INI text -> sections and entries, through inih with our own line reader.
 *
 * The reader sees every line before inih does, so it knows the line number of each
 * handler call, rejects what inih would silently mangle (lines longer than its
 * 200-byte buffer are split, section names longer than 49 bytes are cut, NUL bytes end
 * a line) and reports every syntax error, where inih would only return the first. Lines
 * it rejects reach inih as blank lines. */
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "vmdefs/internal.h"
#include "util/array.h"
#include "util/macro.h"

/* inih copies section names into a 50-byte buffer. */
#define INI_SECTION_MAX 49

/* A definition is a page of text. These bound the time and memory a wrong or broken
 * file costs (later checks compare every key and section with the others): reading
 * stops at the first line past them. */
#define INI_MAX_SECTIONS    128
#define INI_MAX_ENTRIES     2048
#define INI_MAX_VALUE_BYTES (16 * 1024)

struct reader {
        const char *text;
        size_t len, pos;
        unsigned line;
        struct vmdef_ini *ini;
        struct vmdef_diags *diags;
        bool stopped;      /* binary data seen: read no further */
        bool inih_has_key; /* mirrors inih's prev_name: decides continuation lines */
        bool continuation; /* the line just handed to inih continues the previous key */
        bool key_rejected; /* the previous key line was rejected: drop its continuations */
        bool have_section; /* a (valid or not) section header was seen */
        int enomem;
};

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Returns the length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
        size_t n;
        unsigned min;
        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                n = 2, min = 0x80;
        else if ((s[0] & 0xf0) == 0xe0)
                n = 3, min = 0x800;
        else if ((s[0] & 0xf8) == 0xf0)
                n = 4, min = 0x10000;
        else
                return 0;
        if (n > left)
                return 0;
        unsigned cp = s[0] & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* Checks one line's bytes; on a problem adds an error and returns false. */
static bool line_is_text(struct reader *r, const char *s, size_t n)
{
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char)s[i];
                if (c == 0) {
                        vmdef_diag_add(
                                r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                                "NUL byte at column %zu, this looks like binary data; expected a UTF-8 text file (nothing after this line was read)",
                                i + 1);
                        return false;
                }
                if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
                        vmdef_diag_add(
                                r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                                "control character 0x%02x at column %zu, this looks like binary data; expected a UTF-8 text file (nothing after this line was read)",
                                c, i + 1);
                        return false;
                }
                size_t seq = utf8_sequence((const unsigned char *)s + i, n - i);
                if (!seq) {
                        vmdef_diag_add(
                                r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                                "invalid UTF-8 (byte 0x%02x at column %zu); expected a UTF-8 text file (nothing after this line was read)",
                                c, i + 1);
                        return false;
                }
                i += seq;
        }
        return true;
}

/* Adds the error for a limit reached and stops reading. */
static void stop_at_limit(struct reader *r, const char *what)
{
        vmdef_diag_add(
                r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                "%s; a definition is expected to be a page of text (nothing after this line was read)",
                what);
        r->stopped = true;
}

static int section_add(struct reader *r, const char *name, size_t n, bool ignored)
{
        struct vmdef_ini *ini = r->ini;
        if (r->stopped)
                return 0;
        if (ini->n_sections == INI_MAX_SECTIONS) {
                stop_at_limit(r, "more than 128 sections");
                return 0;
        }
        if (VL_ARRAY_GROW(ini->sections, ini->cap_sections, ini->n_sections) < 0)
                return -ENOMEM;
        struct vmdef_ini_section *s = &ini->sections[ini->n_sections];
        s->name = strndup(name, n);
        if (!s->name)
                return -ENOMEM;
        s->line = r->line;
        s->ignored = ignored;
        ini->n_sections++;
        return 0;
}

/* What the reader hands inih for a line. */
enum line_verdict {
        LINE_PASS,          /* the line as written */
        LINE_BLANK,         /* rejected: an empty line */
        LINE_EMPTY_SECTION, /* rejected header: "[]", so inih also forgets the last key */
};

/* A `[name]` line: checks it and records the section. Returns true when inih may see
 * the line (it then starts that section, as we do). */
static bool read_section_header(struct reader *r, const char *start, const char *end)
{
        const char *close = memchr(start, ']', (size_t)(end - start));
        if (!close) {
                vmdef_diag_add(r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                               "section header has no closing `]`; expected `[name]`");
                /* Keys up to the next header belong to no known section. */
                r->enomem |= section_add(r, "", 0, true);
                return false;
        }
        const char *rest = close + 1;
        while (rest < end && is_blank(*rest))
                rest++;
        if (rest < end && *rest != ';' && *rest != '#') {
                vmdef_diag_add(
                        r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                        "text after the section header's `]`; expected only `[name]` and an optional comment");
                r->enomem |= section_add(r, "", 0, true);
                return false;
        }
        const char *name = start + 1;
        size_t n = (size_t)(close - name);
        char buf[INI_SECTION_MAX + 1];
        if (n == 0 || n > INI_SECTION_MAX || is_blank(name[0]) || is_blank(name[n - 1])) {
                vmdef_diag_add(
                        r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                        n == 0 ? "empty section name; expected `[name]`"
                        : n > INI_SECTION_MAX
                                ? "section name longer than 49 bytes; expected a known section such as [disk.ID] with a short ID"
                                : "blanks around the section name; expected `[name]` without spaces");
                r->enomem |= section_add(r, "", 0, true);
                return false;
        }
        memcpy(buf, name, n);
        buf[n] = '\0';
        bool ignored = !vmdef_section_known(buf, r->line, r->diags);
        for (size_t i = 0; !ignored && i < r->ini->n_sections; i++) {
                if (strcmp(r->ini->sections[i].name, buf))
                        continue;
                vmdef_diag_add(
                        r->diags, VMDEF_ERROR, r->line, buf, NULL,
                        "section given twice (first at line %u); expected each section once, merge the two",
                        r->ini->sections[i].line);
                ignored = true;
        }
        r->enomem |= section_add(r, buf, n, ignored);
        return true;
}

/* Classifies a line and records sections. */
static enum line_verdict read_line(struct reader *r, const char *s, size_t n)
{
        const char *end = s + n;
        if (r->line == 1 && n >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
                s += 3; /* a UTF-8 BOM; inih skips it too */
        const char *start = s;
        while (start < end && is_blank(*start))
                start++;
        if (start == end || *start == ';' || *start == '#')
                return LINE_PASS; /* blank or comment: inih ignores it */
        r->ini->saw_content = true;
        if (start > s && r->inih_has_key) {
                if (r->key_rejected)
                        return LINE_BLANK;
                r->continuation = true;
                return LINE_PASS;
        }
        if (*start == '[') {
                r->inih_has_key = false;
                r->key_rejected = false;
                r->have_section = true;
                return read_section_header(r, start, end) ? LINE_PASS : LINE_EMPTY_SECTION;
        }
        const char *sep = start;
        while (sep < end && *sep != '=' && *sep != ':')
                sep++;
        if (sep == end) {
                vmdef_diag_add(
                        r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                        "neither a `[section]` header nor a `key = value` line; expected one of them, or a comment starting with `#` or `;`");
                return LINE_BLANK;
        }
        if (sep == start) {
                vmdef_diag_add(r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                               "no key before `%c`; expected `key = value`", *sep);
                return LINE_BLANK;
        }
        if (!r->have_section) {
                vmdef_diag_add(
                        r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                        "key outside any section; expected a `[section]` header before it, e.g. [vm]");
                return LINE_BLANK;
        }
        r->inih_has_key = true;
        r->key_rejected = false;
        return LINE_PASS;
}

static void reject_line(struct reader *r)
{
        /* A rejected key line leaves inih's previous key in place: continuation lines
         * after it must not extend that one. */
        if (r->inih_has_key)
                r->key_rejected = true;
}

/* inih's fgets-like reader: hands over one line at a time. */
static char *reader_next(char *str, int num, void *stream)
{
        struct reader *r = stream;
        if (r->stopped || r->pos >= r->len)
                return NULL;
        const char *s = r->text + r->pos;
        const char *nl = memchr(s, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - s) : r->len - r->pos;
        r->pos += n + (nl ? 1 : 0);
        r->line++;
        r->continuation = false;
        if (n && s[n - 1] == '\r')
                n--;
        str[0] = '\0';
        if (!line_is_text(r, s, n)) {
                r->stopped = true;
                return str; /* inih handles the blank line, then reading stops */
        }
        /* inih needs room for the line, its newline and the terminating NUL. */
        size_t max = num > 3 ? (size_t)num - 3 : 0;
        if (n > max) {
                vmdef_diag_add(
                        r->diags, VMDEF_ERROR, r->line, NULL, NULL,
                        "line is %zu bytes long; expected at most %zu bytes per line (split a long value over indented continuation lines)",
                        n, max);
                reject_line(r);
                return str;
        }
        switch (read_line(r, s, n)) {
        case LINE_PASS:
                break;
        case LINE_BLANK:
                reject_line(r);
                return str;
        case LINE_EMPTY_SECTION:
                strcpy(str, "[]\n");
                return str;
        }
        memcpy(str, s, n);
        str[n] = '\n';
        str[n + 1] = '\0';
        return str;
}

static int entry_add(struct reader *r, const char *key, const char *value)
{
        struct vmdef_ini *ini = r->ini;
        if (ini->n_entries == INI_MAX_ENTRIES) {
                stop_at_limit(r, "more than 2048 keys");
                return 0;
        }
        if (VL_ARRAY_GROW(ini->entries, ini->cap_entries, ini->n_entries) < 0)
                return -ENOMEM;
        struct vmdef_ini_entry *e = &ini->entries[ini->n_entries];
        e->key = strdup(key);
        e->value = strdup(value);
        if (!e->key || !e->value) {
                free(e->key);
                free(e->value);
                return -ENOMEM;
        }
        e->section = ini->n_sections - 1;
        e->line = r->line;
        ini->n_entries++;
        return 0;
}

/* Joins a continuation line to the previous value with one space. */
static int entry_extend(struct reader *r, const char *value)
{
        struct vmdef_ini_entry *e = &r->ini->entries[r->ini->n_entries - 1];
        size_t old = strlen(e->value), add = strlen(value);
        if (old + 1 + add > INI_MAX_VALUE_BYTES) {
                stop_at_limit(r, "value longer than 16 KiB with its continuation lines");
                return 0;
        }
        char *v = realloc(e->value, old + add + 2);
        if (!v)
                return -ENOMEM;
        v[old] = ' ';
        memcpy(v + old + 1, value, add + 1);
        e->value = v;
        return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        struct reader *r = user;
        (void)section; /* ours is the same, and not cut at 49 bytes */
        if (!r->ini->n_sections || r->stopped)
                return 1; /* out of memory for the section, or past a limit */
        if (r->continuation && r->ini->n_entries)
                r->enomem |= entry_extend(r, value);
        else
                r->enomem |= entry_add(r, name, value);
        return 1;
}

int vmdef_ini_read(const char *text, size_t len, struct vmdef_ini *ini, struct vmdef_diags *diags)
{
        struct reader r = {.text = text, .len = len, .ini = ini, .diags = diags};
        ini_parse_stream(reader_next, &r, handler, &r);
        return r.enomem ? -ENOMEM : 0;
}

void vmdef_ini_free(struct vmdef_ini *ini)
{
        for (size_t i = 0; i < ini->n_sections; i++)
                free(ini->sections[i].name);
        for (size_t i = 0; i < ini->n_entries; i++) {
                free(ini->entries[i].key);
                free(ini->entries[i].value);
        }
        free(ini->sections);
        free(ini->entries);
        memset(ini, 0, sizeof(*ini));
}

const struct vmdef_ini_entry *vmdef_ini_find(const struct vmdef_ini *ini, const char *section_name,
                                             const char *key)
{
        for (size_t i = 0; i < ini->n_entries; i++) {
                const struct vmdef_ini_entry *e = &ini->entries[i];
                if (streq(e->key, key) && streq(ini->sections[e->section].name, section_name))
                        return e;
        }
        return NULL;
}
