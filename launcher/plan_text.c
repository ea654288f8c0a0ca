/* The QEMU command line for people: one option and its value per line. Which words
 * share a line only changes the look: every word is quoted on its own, so the block
 * runs the same argv however it is split. */
#include "launcher/plan_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qemu_escape.h"
#include "util/cleanup.h"

/* QEMU options that take no value (qemu-options.hx, DEF(...) without HAS_ARG). */
static const char *const qemu_flags[] = {
        "-S",
        "-alt-grab",
        "-ctrl-grab",
        "-curses",
        "-daemonize",
        "-enable-fips",
        "-enable-kvm",
        "-enable-sync-profile",
        "-full-screen",
        "-h",
        "-help",
        "-jitdump",
        "-no-acpi",
        "-no-fd-bootchk",
        "-no-hpet",
        "-no-quit",
        "-no-reboot",
        "-no-shutdown",
        "-no-user-config",
        "-nodefaults",
        "-nographic",
        "-only-migratable",
        "-perfmap",
        "-portrait",
        "-preconfig",
        "-s",
        "-semihosting",
        "-singlestep",
        "-snapshot",
        "-usb",
        "-version",
        "-win2k-hack",
};

static bool is_qemu_flag(const char *word)
{
        for (size_t i = 0; i < sizeof(qemu_flags) / sizeof(qemu_flags[0]); i++)
                if (!strcmp(word, qemu_flags[i]))
                        return true;
        return false;
}

/* Spelled like a QEMU option ("-m", "-no-user-config", "-S"), not like a value that
 * starts with '-' ("-1", "-x quiet"), which stays on its option's line. */
static bool looks_like_option(const char *word)
{
        if (word[0] != '-' || !isalpha((unsigned char)word[1]))
                return false;
        for (const char *p = word + 1; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
                        return false;
        return true;
}

/* The shell reads a first word like "a=b" as an assignment, not as the command. */
static char *quote_command(const char *word)
{
        char *quoted = shell_quote(word);
        if (!quoted || quoted[0] == '\'' || !strchr(quoted, '='))
                return quoted;
        char *forced = NULL;
        if (asprintf(&forced, "'%s'", quoted) < 0) /* plain: no quote inside */
                forced = NULL;
        free(quoted);
        return forced;
}

int plan_text_command_lines(const struct vl_strv *argv, struct vl_strv *lines)
{
        for (size_t i = 0; i < argv->count;) {
                const char *option = argv->items[i];
                bool paired = i > 0 && option[0] == '-' && !is_qemu_flag(option) &&
                              i + 1 < argv->count && !looks_like_option(argv->items[i + 1]);
                size_t words = paired ? 2 : 1;
                bool last = i + words == argv->count;
                _cleanup_free_ char *first = i ? shell_quote(option) : quote_command(option);
                _cleanup_free_ char *value = paired ? shell_quote(argv->items[i + 1]) : NULL;
                if (!first || (paired && !value))
                        return -ENOMEM;
                int r = vl_strv_pushf(lines, "%s%s%s%s%s", i ? "    " : "", first,
                                      paired ? " " : "", paired ? value : "", last ? "" : " \\");
                if (r < 0)
                        return r;
                i += words;
        }
        return 0;
}
