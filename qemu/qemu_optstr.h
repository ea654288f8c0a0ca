/* One QEMU option string ("virtio-blk-pci,drive=d0,serial=a,,b") being built.
 * Values that come from the user go through optstr_add(), which doubles their
 * commas, so a value can never start a new option. Internal to qemu/. */
#pragma once

#include <stddef.h>

struct optstr {
        char *s;
        size_t len, cap;
        int error; /* sticky -ENOMEM: checked once, by whoever takes the string */
};

/* Appends `first` verbatim: the driver or the first key=value, never user data. */
void optstr_begin(struct optstr *o, const char *first);
/* Appends ",key=value" with value escaped the QEMU way. */
void optstr_add(struct optstr *o, const char *key, const char *value);
/* Appends "," and a printf-formatted piece we produced ourselves (numbers, fixed
 * words, validated ids): nothing here is escaped. */
void optstr_addf(struct optstr *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string out (or NULL after an allocation failure) and resets o. */
char *optstr_take(struct optstr *o);
void optstr_free(struct optstr *o);
