/* The `gpu-lost` record: RUN_DIR/gpu-lost names the functions of a GPU that did not
 * come back healthy after a VM and were left on vfio-pci (binding the host driver to
 * a hung GPU can hang the kernel). Only a reboot brings such a GPU back, so the record
 * carries the boot ID (/proc/sys/kernel/random/boot_id) it was written in: /run is
 * cleared by a reboot anyway, and a record of another boot (a runtime dir that
 * survived) counts as gone. While it holds, `run` refuses every VM that would use
 * one of those functions, and `status` and `check` say the host needs a reboot.
 *
 * Format, one line each: "boot_id UUID", then "ADDR REASON..." per function. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define GPU_LOST_FILE "gpu-lost"

struct vm_def;

struct hostprep_gpu_lost_entry {
        char addr[16];
        char reason[200];
};

struct hostprep_gpu_lost {
        char boot_id[64];
        struct hostprep_gpu_lost_entry *entries;
        size_t count;
};

/* This boot's ID through the sysroot. Returns 0 or -errno. */
int hostprep_boot_id(char *buf, size_t len);

/* Parses a record's text (pure). Returns 0 or -EINVAL. */
int hostprep_gpu_lost_parse(const char *text, struct hostprep_gpu_lost *out);
/* Reads RUN_DIR/gpu-lost. Returns 1 when it holds for this boot, 0 when there is none
 * or it is from another boot (*stale set), -errno when it cannot be read. */
int hostprep_gpu_lost_read(const char *run_dir, struct hostprep_gpu_lost *out, bool *stale);
/* Adds entries to RUN_DIR/gpu-lost (created for this boot if absent or stale),
 * fsync'd. Returns 0 or -errno. */
int hostprep_gpu_lost_add(const char *run_dir, const struct hostprep_gpu_lost_entry *entries,
                          size_t n, struct vl_error *err);
/* Adds addr for reason, and every function of group on the same card (bus and slot)
 * "on the same card as ADDR": their drivers would touch the same device. */
int hostprep_gpu_lost_add_card(const char *run_dir, const char *addr, const char *reason,
                               const char *const *group, size_t n, struct vl_error *err);
void hostprep_gpu_lost_free(struct hostprep_gpu_lost *lost);
/* The entry of addr, or NULL. */
const struct hostprep_gpu_lost_entry *hostprep_gpu_lost_find(const struct hostprep_gpu_lost *lost,
                                                             const char *addr);

/* Whether def's GPU is held by a lost-GPU record of this boot in any VM's run dir (the
 * siblings of run_dir, run_dir included). Returns 1 and a message naming the function
 * and saying "reboot" in err, 0 when not, -errno on error. When remove_stale, records
 * of another boot are deleted on the way (run does; check and status change nothing). */
int hostprep_gpu_lost_blocks(const char *run_dir, const struct vm_def *def, bool remove_stale,
                             struct vl_error *err);
