/* Fuzzes the whole definition path: INI text -> vm_def -> validation, with every
 * diagnostic formatted and everything freed on every path (ASan's leak check sees it).
 * The text is handed over without a terminating NUL, as vmdef_parse_string's
 * (text, len) contract allows, so reading past len is caught too. */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vmdefs/vmdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly size bytes: libFuzzer's buffer already is, the replay
         * driver's is NUL-terminated; this makes both catch over-reads. */
        char *text = malloc(size ? size : 1);
        if (!text)
                return 0;
        memcpy(text, data, size);

        struct vm_def *def = NULL;
        struct vmdef_diags diags = {0};
        int r = vmdef_parse_string("/etc/vmlaunch/fuzz.ini", text, size, &def, &diags);
        if ((r == 0) != (def != NULL))
                abort(); /* the contract: *out is set exactly when there were no errors */
        if (r == 0 && diags.n_errors)
                abort();

        /* Only stat()s the paths named: read-only, and its messages quote them. */
        if (def)
                vmdef_check_files(def, VMDEF_WARNING, &diags);
        char line[1024];
        for (size_t i = 0; i < diags.count; i++)
                vmdef_diag_format(&diags.items[i], "fuzz.ini", line, sizeof(line));
        if (def)
                (void)vmdef_vcpu_count(def);

        vmdef_free(def);
        vmdef_diags_free(&diags);
        free(text);
        return 0;
}
