/* Optional libraries, loaded on first use the way systemd loads its own: a run that
 * stops no unit and unloads no module never maps libsystemd or libkmod, nor the
 * compression and crypto libraries they link (about 2.5 MB of RSS). */
#pragma once

#include <stddef.h>

#include "util/error.h"

struct vl_dl_symbol {
        const char *name;
        void **fn; /* where the resolved address goes: (void **)&sym_xxx */
};

/* Declares sym_f, the loaded f with f's own prototype (from the library's header). */
#define VL_DL_PROTOTYPE(f) extern __typeof__(f) *sym_##f

/* The pointer slot for a function declared `extern __typeof__(f) *sym_f`. */
#define VL_DL_SYMBOL(f)                                                                            \
        {                                                                                          \
#f, (void **)&sym_##f                                                              \
        }

/* Loads soname (once: *handle keeps it) and resolves every symbol, or none: on
 * failure every slot is NULL again, and err names the library and the Debian
 * package that ships it. Returns 0 or a negative errno. */
int vl_dl_open(void **handle, const char *soname, const char *package,
               const struct vl_dl_symbol *syms, size_t n_syms, struct vl_error *err);
