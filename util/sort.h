/* Comparison functions for qsort and bsearch. */
#pragma once

/* Orders unsigned ints (CPU numbers) ascending. */
int vl_cmp_unsigned(const void *a, const void *b);
