/* Growable NULL-terminated string vectors (argv, unit lists). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct vl_strv {
        char **items; /* NULL-terminated once anything was added */
        size_t count;
        size_t cap;
};

/* Appends a copy of s. Returns 0 or -ENOMEM. */
int vl_strv_push(struct vl_strv *v, const char *s);
/* Appends a printf-formatted string. Returns 0 or -ENOMEM. */
int vl_strv_pushf(struct vl_strv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when s equals one of v's strings. */
bool vl_strv_contains(const struct vl_strv *v, const char *s);
void vl_strv_free(struct vl_strv *v);
