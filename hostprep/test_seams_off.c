/* The test seams of a release build: nothing is read from the environment (see
 * test_seams.h), so the real root, the real systemd and libkmod are always used. */
#include "hostprep/test_seams.h"

#include <stddef.h>

const char *test_seams_sysroot(void)
{
        return NULL;
}

void test_seams_fill(struct hostprep_ctx *ctx)
{
        (void)ctx;
}
