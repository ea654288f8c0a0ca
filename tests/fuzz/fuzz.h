/* The libFuzzer entry point each harness defines. The same harness is linked with
 * libFuzzer (clang, -Dfuzz=true) and with replay_main.c (every build) to replay the
 * inputs under tests/fuzz/regressions/. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
