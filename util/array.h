/* Growing arrays by doubling, so appending n items costs O(n) copies, not O(n^2). */
#pragma once

#include <stddef.h>

/* Makes room for one more item after the count in use in *items: when *cap (items
 * allocated, may be 0 or stale-low for an array built elsewhere) is not enough, the array
 * is reallocated to twice that (at least 4 and at least count + 1). Returns 0 or -ENOMEM,
 * leaving *items and *cap untouched on failure. */
int vl_array_grow(void **items, size_t *cap, size_t count, size_t size);

/* VL_ARRAY_GROW(list->items, list->cap, list->count) for any item type. */
#define VL_ARRAY_GROW(items, cap, count)                                                           \
        vl_array_grow((void **)&(items), &(cap), (count), sizeof(*(items)))
