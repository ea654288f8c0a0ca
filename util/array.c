#include "util/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int vl_array_grow(void **items, size_t *cap, size_t count, size_t size)
{
        if (count < *cap && *items)
                return 0;
        size_t want = *cap > count ? *cap : count;
        want = want < 2 ? 4 : want * 2;
        if (size == 0 || want > SIZE_MAX / size)
                return -ENOMEM;
        void *grown = realloc(*items, want * size);
        if (!grown)
                return -ENOMEM;
        *items = grown;
        *cap = want;
        return 0;
}
