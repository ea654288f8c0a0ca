/* Fuzzes import-libvirt's mapping: XML bytes -> libxml2 (no network, no DTD, no
 * entities) -> the definition's text, then that text through the definition parser,
 * with everything freed on every path. The input is handed over without a trailing
 * NUL. Aborts on a broken contract: text exactly on success, every "# not imported:"
 * line also a warning. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "importer/importer.h"
#include "tests/fuzz/fuzz.h"
#include "vmdefs/vmdef.h"

/* A host where 06:00.0 is a GPU, so both ways to find one are taken. */
static int fuzz_pci_class(const char *addr, unsigned *cls, void *userdata)
{
        (void)userdata;
        if (strcmp(addr, "0000:06:00.0"))
                return -ENOENT;
        *cls = 0x030000;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *xml = malloc(size ? size : 1);
        if (!xml)
                return 0;
        memcpy(xml, data, size);
        struct importer_options opts = {.pci_class = fuzz_pci_class};
        struct importer_result res;
        struct vl_error err = {0};
        int r = importer_libvirt_domain(xml, size, &opts, &res, &err);
        if ((r == 0) != (res.ini != NULL))
                abort();
        if (r == 0) {
                for (const char *p = res.ini; (p = strstr(p, "\n# not imported: ")); p++) {
                        const char *line = p + 3, *eol = strchr(line, '\n');
                        size_t n = eol ? (size_t)(eol - line) : strlen(line);
                        bool warned = false;
                        for (size_t i = 0; i < res.warnings.count && !warned; i++)
                                warned = strlen(res.warnings.items[i]) == n &&
                                         !strncmp(res.warnings.items[i], line, n);
                        if (!warned)
                                abort();
                }
                struct vm_def *def = NULL;
                struct vmdef_diags diags = {0};
                vmdef_parse_string("/etc/vmlaunch/fuzz.ini", res.ini, strlen(res.ini), &def,
                                   &diags);
                vmdef_free(def);
                vmdef_diags_free(&diags);
        }
        importer_result_free(&res);
        free(xml);
        return 0;
}
