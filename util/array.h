/* Growing arrays by doubling, so appending n items costs O(n) copies, not O(n^2). */
#pragma once

#include <stddef.h>

/* Makes room for one more item after the count in use in *items: when *cap (items
 * allocated, may be 0 or stale-low for an array built elsewhere) is not enough, the array
 * is reallocated to twice that (at least 4 and at least count + 1). Returns 0 or -ENOMEM,
 * leaving *items and *cap untouched on failure. */
int vl_array_grow(void **items, size_t *cap, size_t count, size_t size);

/* VL_ARRAY_GROW(list->items, list->cap, list->count) for any item type. The pointer goes
 * through a void * copy: casting &items to void ** would break strict aliasing. */
#define VL_ARRAY_GROW(items, cap, count)                                                           \
        ({                                                                                         \
                void *vl_grown_ = (items);                                                         \
                int vl_r_ = vl_array_grow(&vl_grown_, &(cap), (count), sizeof(*(items)));          \
                if (vl_r_ == 0)                                                                    \
                        (items) = vl_grown_;                                                       \
                vl_r_;                                                                             \
        })
