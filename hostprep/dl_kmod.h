/* libkmod, loaded when a module is removed or inserted: a run that unloads no module
 * never maps it. The prototypes come from libkmod's own header. */
#pragma once

#include <libkmod.h>

#include "util/dl.h"

/* Loads libkmod.so.2 once. Returns 0 or a negative errno with err naming the package. */
int dl_kmod_open(struct vl_error *err);

VL_DL_PROTOTYPE(kmod_new);
VL_DL_PROTOTYPE(kmod_unref);
VL_DL_PROTOTYPE(kmod_module_new_from_name);
VL_DL_PROTOTYPE(kmod_module_unref);
VL_DL_PROTOTYPE(kmod_module_remove_module);
VL_DL_PROTOTYPE(kmod_module_probe_insert_module);
