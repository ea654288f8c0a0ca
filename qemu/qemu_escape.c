/* Quoting: QEMU's doubled commas for option values, POSIX shell quoting for display. */
#include "qemu/qemu_escape.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

char *qemu_escape_value(const char *value)
{
        size_t commas = 0, len = strlen(value);
        for (const char *p = value; *p; p++)
                commas += *p == ',';

        char *out = malloc(len + commas + 1);
        if (!out)
                return NULL;
        char *w = out;
        for (const char *p = value; *p; p++) {
                *w++ = *p;
                if (*p == ',') /* QEMU's option parsers read ",," as one literal comma */
                        *w++ = ',';
        }
        *w = '\0';
        return out;
}

/* Characters no POSIX shell gives a meaning to, so a word made only of them can
 * be shown bare; ',' and '=' keep QEMU options readable. */
static bool shell_word_is_plain(const char *arg)
{
        if (!*arg)
                return false;
        for (const char *p = arg; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=:,./@%",
                            *p))
                        return false;
        return true;
}

char *shell_quote(const char *arg)
{
        if (shell_word_is_plain(arg))
                return strdup(arg);

        /* Single quotes keep everything literal, newlines included; a single quote
         * itself is written as '\'' (close, escaped quote, reopen). */
        size_t quotes = 0, len = strlen(arg);
        for (const char *p = arg; *p; p++)
                quotes += *p == '\'';
        char *out = malloc(len + 3 * quotes + 3);
        if (!out)
                return NULL;
        char *w = out;
        *w++ = '\'';
        for (const char *p = arg; *p; p++) {
                if (*p == '\'') {
                        memcpy(w, "'\\''", 4);
                        w += 4;
                } else {
                        *w++ = *p;
                }
        }
        *w++ = '\'';
        *w = '\0';
        return out;
}
