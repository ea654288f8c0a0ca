/* QEMU's firmware descriptors (QEMU's docs/interop/firmware.json: the JSON files in
 * /usr/share/qemu/firmware and /etc/qemu/firmware that describe each installed OVMF
 * build) and the choice of one for a VM. Pure: text in, choice out; reading the
 * folders is run/firmware_dirs.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/strv.h"

struct fwdesc {
        char *path; /* the file it was read from, for messages */
        char *name; /* its file name: descriptors are tried in the order of their names */
        bool uefi;  /* interface-types lists "uefi" */
        bool flash; /* mapping device "flash" (split executable + nvram-template) */
        char *executable;
        char *nvram_template;           /* NULL when the descriptor has none */
        struct vl_strv x86_64_machines; /* machine globs of its x86_64 targets */
        bool secure_boot, enrolled_keys, requires_smm;
};

/* Parses one descriptor's JSON text. A file that is not JSON or lacks what every
 * descriptor has (interface-types, mapping, targets) is an error naming path;
 * values this code does not know (new features, other devices) are not. */
int fwdesc_parse(const char *path, const char *name, const char *text, struct fwdesc *out,
                 struct vl_error *err);
void fwdesc_free(struct fwdesc *d);

/* Whether a descriptor's machine glob covers the VM's machine. QEMU's aliases q35 and
 * pc stand for the newest versioned machine, pc-q35-X.Y and pc-i440fx-X.Y. */
bool fwdesc_machine_matches(const struct fwdesc *d, const char *machine);

struct fwdesc_request {
        const char *machine;
        bool secure_boot;
        /* The definition's [firmware] code and vars_template; NULL when not given. */
        const char *code;
        const char *vars_template;
};

struct fwdesc_choice {
        const struct fwdesc *desc; /* NULL when code and vars_template were both given */
        const char *code;          /* what QEMU runs */
        const char *vars_template; /* what the VM's vars are copied from */
        /* smm=on on the machine and secure pflash: the descriptor requires SMM, or
         * secure_boot = yes with explicit files. */
        bool secure;
        char reason[384]; /* one line: which descriptor and why */
};

/* Chooses among list (already in priority order, highest first). Returns 0, or
 * -ENOENT with err saying what is missing and which package provides it. */
int fwdesc_select(const struct fwdesc *list, size_t n, const struct fwdesc_request *req,
                  struct fwdesc_choice *out, struct vl_error *err);
