#include "util/dl.h"

#include <dlfcn.h>
#include <errno.h>

int vl_dl_open(void **handle, const char *soname, const char *package,
               const struct vl_dl_symbol *syms, size_t n_syms, struct vl_error *err)
{
        if (*handle)
                return 0;
        /* Never closed once loaded: objects it handed out (buses, contexts) may still be
         * unreferenced later. RTLD_NOW: a broken library fails here, not mid-step. */
        void *dl = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!dl)
                return vl_error_set_plain(
                        err, ENOPKG,
                        "%s is needed but cannot be loaded (install the Debian package %s): %s",
                        soname, package, dlerror());
        for (size_t i = 0; i < n_syms; i++) {
                *syms[i].fn = dlsym(dl, syms[i].name);
                if (*syms[i].fn)
                        continue;
                const char *why = dlerror();
                int r = vl_error_set_plain(err, ENOPKG,
                                           "%s has no %s (the Debian package %s is too old?): %s",
                                           soname, syms[i].name, package, why ? why : "");
                for (size_t j = 0; j < n_syms; j++)
                        *syms[j].fn = NULL;
                dlclose(dl);
                return r;
        }
        *handle = dl;
        return 0;
}
