#include "util/strv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/macro.h"

static int strv_take(struct vl_strv *v, char *s)
{
        if (!s)
                return -ENOMEM;
        /* room for s and the NULL after it */
        if (VL_ARRAY_GROW(v->items, v->cap, v->count + 1) < 0) {
                free(s);
                return -ENOMEM;
        }
        v->items[v->count++] = s;
        v->items[v->count] = NULL;
        return 0;
}

int vl_strv_push(struct vl_strv *v, const char *s)
{
        return strv_take(v, strdup(s));
}

int vl_strv_pushf(struct vl_strv *v, const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return strv_take(v, n < 0 ? NULL : s);
}

bool vl_strv_contains(const struct vl_strv *v, const char *s)
{
        for (size_t i = 0; i < v->count; i++)
                if (streq(v->items[i], s))
                        return true;
        return false;
}

void vl_strv_free(struct vl_strv *v)
{
        for (size_t i = 0; i < v->count; i++)
                free(v->items[i]);
        free(v->items);
        *v = (struct vl_strv){0};
}
