/* Helpers for the argv tests: a small valid definition built by hand, and a
 * reader of QEMU option strings that splits them the way QEMU does (",," is a
 * literal comma), so tests can assert what QEMU will actually see. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qemu/qemu_argv.h"

/* A UEFI VM with 1 GiB, 2 vCPUs, nothing attached. Strings are literals: never freed. */
static inline struct vm_def test_def(void)
{
        return (struct vm_def){
                .name = "t",
                .qemu_binary = VMDEF_DEFAULT_QEMU_BINARY,
                .machine = "q35",
                .display = "none",
                .vga = "none",
                .serial = "none",
                .memory_bytes = 1ULL << 30,
                .prealloc = true,
                .firmware = VMDEF_FIRMWARE_UEFI,
                .ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd",
                .ovmf_vars = "/var/lib/vmlaunch/t_VARS.fd",
                .cpu_model = "host",
                .sockets = 1,
                .dies = 1,
                .cores = 2,
                .threads = 1,
        };
}

static inline struct qemu_argv_opts test_opts(void)
{
        return (struct qemu_argv_opts){.accel = VMDEF_ACCEL_KVM};
}

static inline void build_ok(const struct vm_def *def, const struct qemu_argv_opts *opts,
                            struct vl_strv *argv)
{
        struct vl_error err = {0};
        const struct qemu_argv_opts defaults = test_opts(); /* NULL: test_opts() */
        *argv = (struct vl_strv){0};
        int r = qemu_argv_build(def, opts ? opts : &defaults, argv, &err);
        if (r < 0)
                fail_msg("qemu_argv_build failed: %s", err.msg);
}

/* Builds and expects failure; returns the message (static buffer). */
static inline const char *build_fails(const struct vm_def *def, const struct qemu_argv_opts *opts)
{
        static struct vl_error err;
        const struct qemu_argv_opts defaults = test_opts(); /* NULL: test_opts() */
        struct vl_strv argv = {0};
        err = (struct vl_error){0};
        int r = qemu_argv_build(def, opts ? opts : &defaults, &argv, &err);
        if (r >= 0) {
                vl_strv_free(&argv);
                fail_msg("qemu_argv_build succeeded, expected an error");
        }
        assert_int_equal(argv.count, 0); /* nothing half-built is handed out */
        return err.msg;
}

/* The n-th (0-based) value given to `flag` whose text starts with `prefix`, or NULL. */
static inline const char *flag_value(const struct vl_strv *argv, const char *flag,
                                     const char *prefix, unsigned n)
{
        for (size_t i = 1; i + 1 < argv->count; i++)
                if (!strcmp(argv->items[i], flag) &&
                    !strncmp(argv->items[i + 1], prefix, strlen(prefix)) && n-- == 0)
                        return argv->items[i + 1];
        return NULL;
}

static inline size_t count_values(const struct vl_strv *argv, const char *flag, const char *prefix)
{
        size_t n = 0;
        while (flag_value(argv, flag, prefix, (unsigned)n))
                n++;
        return n;
}

static inline ptrdiff_t index_of(const struct vl_strv *argv, const char *arg)
{
        for (size_t i = 0; i < argv->count; i++)
                if (!strcmp(argv->items[i], arg))
                        return (ptrdiff_t)i;
        return -1;
}

/* Splits an option string like QEMU: returns the number of parts and writes each
 * part, unescaped, into parts[] (malloc'd, free with free_parts). */
static inline size_t split_qemu_opts(const char *s, char **parts, size_t max)
{
        size_t n = 0;
        char *cur = malloc(strlen(s) + 1), *w = cur;
        for (const char *p = s;; p++) {
                if (*p == ',' && p[1] == ',') {
                        *w++ = ',';
                        p++;
                } else if (*p == ',' || !*p) {
                        *w = '\0';
                        if (n < max)
                                parts[n++] = strdup(cur);
                        w = cur;
                        if (!*p)
                                break;
                } else {
                        *w++ = *p;
                }
        }
        free(cur);
        return n;
}

static inline void free_parts(char **parts, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(parts[i]);
}

/* How many parts of the option string have this key (QEMU's view). */
static inline size_t opt_key_count(const char *s, const char *key)
{
        char *parts[64];
        size_t n = split_qemu_opts(s, parts, 64), count = 0, klen = strlen(key);
        for (size_t i = 0; i < n; i++)
                count += !strncmp(parts[i], key, klen) && parts[i][klen] == '=';
        free_parts(parts, n);
        return count;
}

/* The unescaped value of `key` in the option string, as QEMU would read it
 * (static buffer), or NULL. */
static inline const char *opt_get(const char *s, const char *key)
{
        static char value[4096];
        char *parts[64];
        size_t n = split_qemu_opts(s, parts, 64), klen = strlen(key);
        const char *found = NULL;
        for (size_t i = 0; i < n && !found; i++)
                if (!strncmp(parts[i], key, klen) && parts[i][klen] == '=') {
                        snprintf(value, sizeof(value), "%s", parts[i] + klen + 1);
                        found = value;
                }
        free_parts(parts, n);
        return found;
}
