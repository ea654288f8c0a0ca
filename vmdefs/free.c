/* Freeing a definition. */
#include <stdlib.h>

#include "vmdefs/vmdef.h"

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

void vmdef_free(struct vm_def *def)
{
        if (!def)
                return;
        free(def->path);
        free(def->name);
        free(def->description);
        free(def->qemu_binary);
        free(def->qemu_user);
        free(def->machine);
        free(def->display);
        free(def->vnc_host);
        free(def->vnc_password_file);
        free(def->vga);
        free(def->serial);
        strv_free(def->extra_args);
        free(def->ovmf_code);
        free(def->ovmf_vars_template);
        free(def->ovmf_vars);
        free(def->tpm_state_dir);
        free(def->ready_host);
        free(def->kernel);
        free(def->initrd);
        free(def->cmdline);
        free(def->cpu_model);
        free(def->cpu_flags);
        vmdef_cpulist_free(&def->vcpu_pin);
        vmdef_cpulist_free(&def->emulator_pin);
        free(def->hyperv.vendor_id);
        for (size_t i = 0; i < def->n_iothreads; i++) {
                free(def->iothreads[i].id);
                vmdef_cpulist_free(&def->iothreads[i].pin);
        }
        free(def->iothreads);
        for (size_t i = 0; i < def->n_disks; i++) {
                free(def->disks[i].id);
                free(def->disks[i].path);
                free(def->disks[i].iothread);
                free(def->disks[i].serial);
        }
        free(def->disks);
        free(def->gpu_romfile);
        free(def->gpu_group);
        free(def->gpu_reset_method);
        for (size_t i = 0; i < def->n_usb; i++)
                free(def->usb[i].id);
        free(def->usb);
        for (size_t i = 0; i < def->n_evdev; i++) {
                free(def->evdev[i].id);
                free(def->evdev[i].path);
                free(def->evdev[i].grab_toggle);
        }
        free(def->evdev);
        for (size_t i = 0; i < def->n_nets; i++) {
                free(def->nets[i].id);
                free(def->nets[i].bridge);
                free(def->nets[i].model);
                free(def->nets[i].mac);
        }
        free(def->nets);
        strv_free(def->stop_units);
        strv_free(def->unload_modules);
        free(def->governor);
        free(def->hooks_dir);
        for (size_t i = 0; i < def->n_key_lines; i++) {
                free(def->key_lines[i].section);
                free(def->key_lines[i].key);
        }
        free(def->key_lines);
        free(def);
}
