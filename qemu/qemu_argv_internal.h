/* Shared by the files that build the QEMU command line. Internal to qemu/. */
#pragma once

#include <stdbool.h>

#include "qemu/qemu_argv.h"
#include "qemu/qemu_optstr.h"

struct argv_builder {
        const struct vm_def *def;
        const struct qemu_argv_opts *opts;
        struct vl_strv *argv;
        struct vl_error *err;
        bool kvm; /* accelerator after resolving auto */
};

/* Appends one argument verbatim. Returns 0 or -ENOMEM (err set). */
int argv_push(struct argv_builder *b, const char *arg);
/* Appends `flag` and the option string o (consumed). Returns 0 or -ENOMEM. */
int argv_push_option(struct argv_builder *b, const char *flag, struct optstr *o);
/* QEMU ids and node names: a letter, then letters, digits, '-', '.', '_'.
 * Returns 0, or -EINVAL with err naming `what` and the limit. */
int argv_check_id(struct argv_builder *b, const char *what, const char *id, size_t max_len);

/* Device families that live in qemu_argv_devices.c. */
int argv_add_gpu(struct argv_builder *b);
int argv_add_disks(struct argv_builder *b);
int argv_add_usb(struct argv_builder *b);
int argv_add_evdev(struct argv_builder *b);
int argv_add_net(struct argv_builder *b);
/* PIT and sleep globals, SMBIOS, the 64-bit PCI window: qemu_argv_platform.c. */
int argv_add_platform(struct argv_builder *b);
/* In qemu_argv_tpm.c. */
int argv_add_tpm(struct argv_builder *b);
int argv_add_guest_agent(struct argv_builder *b);
