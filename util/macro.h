/* The small macros every C file wants: array lengths and string equality. */
#pragma once

#include <stdbool.h>
#include <string.h>

/* The number of elements of an array (not of a pointer: gcc warns with -Wsizeof-pointer-div). */
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}
