#include "hostprep/dl_kmod.h"

#include "util/macro.h"

__typeof__(kmod_new) *sym_kmod_new;
__typeof__(kmod_unref) *sym_kmod_unref;
__typeof__(kmod_module_new_from_name) *sym_kmod_module_new_from_name;
__typeof__(kmod_module_unref) *sym_kmod_module_unref;
__typeof__(kmod_module_remove_module) *sym_kmod_module_remove_module;
__typeof__(kmod_module_probe_insert_module) *sym_kmod_module_probe_insert_module;

int dl_kmod_open(struct vl_error *err)
{
        static void *handle;
        static const struct vl_dl_symbol syms[] = {
                VL_DL_SYMBOL(kmod_new),
                VL_DL_SYMBOL(kmod_unref),
                VL_DL_SYMBOL(kmod_module_new_from_name),
                VL_DL_SYMBOL(kmod_module_unref),
                VL_DL_SYMBOL(kmod_module_remove_module),
                VL_DL_SYMBOL(kmod_module_probe_insert_module),
        };
        return vl_dl_open(&handle, "libkmod.so.2", "libkmod2", syms, ELEMENTSOF(syms), err);
}
