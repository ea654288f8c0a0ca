#include "qemu/qemu_optstr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qemu_escape.h"

static void optstr_append(struct optstr *o, const char *text)
{
        if (o->error)
                return;
        size_t n = strlen(text);
        if (o->len + n + 1 > o->cap) {
                size_t cap = o->cap ? o->cap : 64;
                while (cap < o->len + n + 1)
                        cap *= 2;
                char *s = realloc(o->s, cap);
                if (!s) {
                        o->error = -ENOMEM;
                        return;
                }
                o->s = s;
                o->cap = cap;
        }
        memcpy(o->s + o->len, text, n + 1);
        o->len += n;
}

void optstr_begin(struct optstr *o, const char *first)
{
        optstr_append(o, first);
}

void optstr_add(struct optstr *o, const char *key, const char *value)
{
        char *escaped = qemu_escape_value(value);
        if (!escaped) {
                o->error = -ENOMEM;
                return;
        }
        if (o->len)
                optstr_append(o, ",");
        optstr_append(o, key);
        optstr_append(o, "=");
        optstr_append(o, escaped);
        free(escaped);
}

void optstr_addf(struct optstr *o, const char *fmt, ...)
{
        char *piece = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&piece, fmt, ap);
        va_end(ap);
        if (n < 0) {
                o->error = -ENOMEM;
                return;
        }
        if (o->len)
                optstr_append(o, ",");
        optstr_append(o, piece);
        free(piece);
}

char *optstr_take(struct optstr *o)
{
        char *s = o->error ? NULL : o->s;
        if (o->error)
                free(o->s);
        *o = (struct optstr){0};
        return s;
}

void optstr_free(struct optstr *o)
{
        free(o->s);
        *o = (struct optstr){0};
}
