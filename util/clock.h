/* Deadlines: milliseconds of CLOCK_MONOTONIC, which never jumps with the wall clock. */
#pragma once

#include <stdint.h>

int64_t vl_monotonic_ms(void);
