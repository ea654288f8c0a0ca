/* The value parsers of keys.c's table for keys whose values are more than a type:
 * each checks one value and stores it where the key goes (target: struct vm_def or
 * the element of a kind.ID section). Private to vmdefs/. */
#pragma once

#include <stddef.h>

/* Room for one reason, the size of the why buffers. */
#define VMDEF_WHY_LEN 384

/* Writes the reason a value is refused ("what is expected") and returns -EINVAL. */
int vmdef_why(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Replaces *field with a copy of value. Returns 0 or -ENOMEM. */
int vmdef_set_string(char **field, const char *value);

int vmdef_key_args(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_binary(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_qemu_user(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_bridge(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_cpu_flags(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_disk_iothread(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_disk_serial(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_display(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_governor(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_gpu_address(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_gpu_group(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_gpu_reset_method(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_grab_toggle(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_hugepages(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_mac(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_session_ready(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_machine(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_model(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_name(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_net_model(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_serial(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_spinlocks(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_suspend_to_disk(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_suspend_to_ram(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_stop_units(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_unload_modules(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_usb_product(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_usb_vendor(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_vcpu_pin(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_vendor_id(const char *v, void *t, char *why, size_t why_len);
int vmdef_key_vga(const char *v, void *t, char *why, size_t why_len);
