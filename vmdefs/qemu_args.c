/* [qemu] args: extra words for QEMU's command line, minus everything vmlaunch owns.
 *
 * vmlaunch's promises (paused until pinned, supervised through its own monitors, QEMU's
 * user and sandbox, VNC only with a password off loopback) hold only while no extra
 * option can replace what it sets. QEMU reads `--opt` as `-opt` and `-opt=value` as
 * `-opt value`, so both spellings are refused too. */
#include <stdio.h>
#include <string.h>

#include "util/macro.h"
#include "vmdefs/internal.h"

const char *const vmdef_owned_chardev_ids[] = {"qmp", "ctl", "serial0", NULL};

static const struct {
        const char *option, *why;
} refused[] = {
        {"monitor", "vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`)"},
        {"mon", "vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`)"},
        {"qmp", "vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`)"},
        {"qmp-pretty", "vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`)"},
        {"readconfig", "a config file could add monitors or chardevs past these checks"},
        {"daemonize", "would detach QEMU from vmlaunch's supervision"},
        {"pidfile", "vmlaunch tracks QEMU's pid itself"},
        {"S", "vmlaunch already starts QEMU paused"},
        {"name", "vmlaunch sets it from [vm] name"},
        {"add-fd", "vmlaunch hands QEMU its descriptors itself"},
        {"runas", "vmlaunch decides QEMU's user ([qemu] user)"},
        {"run-with", "vmlaunch decides QEMU's user ([qemu] user)"},
        {"chroot", "it would hide the paths vmlaunch gives QEMU"},
        {"sandbox", "vmlaunch sets it from [qemu] sandbox"},
        {"machine", "use [qemu] machine (vmlaunch sets the machine's memory and firmware)"},
        {"M", "use [qemu] machine (vmlaunch sets the machine's memory and firmware)"},
        {"accel", "use [qemu] accel"},
        {"enable-kvm", "use [qemu] accel"},
        {"cpu", "use [cpu] model and flags"},
        {"m", "use [memory] size"},
        {"smp", "use [cpu] sockets, dies, cores and threads"},
        {"mem-path", "use [memory] hugepages"},
        {"mem-prealloc", "use [memory] prealloc"},
        {"display", "use [qemu] display"},
        {"vnc", "use [qemu] display = vnc=... (with vnc_password_file off loopback)"},
        {"nographic", "use [qemu] display"},
        {"curses", "use [qemu] display"},
        {"vga", "use [qemu] vga"},
        {"bios", "use [firmware]"},
        {"pflash", "use [firmware]"},
        {"kernel", "use [boot] kernel"},
        {"initrd", "use [boot] initrd"},
        {"append", "use [boot] cmdline"},
        {"gdb", "it opens a debugger with full access to the guest, on every address"},
        {"s", "it opens a debugger with full access to the guest, on every address"},
};

/* Options whose value (the next word, or after '=') is checked, not just the name. */
static bool takes_checked_value(const char *option)
{
        return streq(option, "chardev") || streq(option, "set");
}

static bool chardev_id_owned(const char *id, size_t len)
{
        for (size_t i = 0; vmdef_owned_chardev_ids[i]; i++)
                if (strlen(vmdef_owned_chardev_ids[i]) == len &&
                    !strncmp(vmdef_owned_chardev_ids[i], id, len))
                        return true;
        return false;
}

/* The id= of a -chardev value: "socket,id=qmp,path=..." -> "qmp". QEMU's ",," is a
 * literal comma inside a value, never a separator. Sets *len; NULL when there is none. */
static const char *chardev_id(const char *value, size_t *len)
{
        for (const char *p = value; *p;) {
                const char *end = p;
                while (*end && !(end[0] == ',' && end[1] != ','))
                        end += end[0] == ',' ? 2 : 1;
                if (!strncmp(p, "id=", 3)) {
                        *len = (size_t)(end - p - 3);
                        return p + 3;
                }
                p = *end ? end + 1 : end;
        }
        return NULL;
}

/* Returns why value may not follow option, or NULL. */
static const char *value_refusal(const char *option, const char *value, char *buf, size_t len)
{
        size_t n = 0;
        const char *id = NULL;
        if (streq(option, "chardev")) {
                id = chardev_id(value, &n);
        } else if (!strncmp(value, "chardev.", 8)) { /* -set chardev.ID.prop=value */
                id = value + 8;
                n = strcspn(id, ".");
        } else if (!strncmp(value, "mon.", 4)) {
                return "vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`)";
        }
        if (!id || !chardev_id_owned(id, n))
                return NULL;
        snprintf(
                buf, len,
                "the chardev id \"%.*s\" is vmlaunch's own (its monitors and serial log use qmp, ctl and serial0); give your chardev another id",
                (int)n, id);
        return buf;
}

void vmdef_check_qemu_args(const struct vm_def *def, unsigned line, struct vmdef_diags *diags)
{
        for (size_t i = 0; i < def->n_extra_args; i++) {
                const char *word = def->extra_args[i];
                if (word[0] != '-' || !word[1])
                        continue;
                char option[64];
                const char *name = word + (word[1] == '-' ? 2 : 1);
                size_t n = strcspn(name, "=");
                snprintf(option, sizeof(option), "%.*s", (int)(n < 63 ? n : 63), name);
                for (size_t r = 0; r < ELEMENTSOF(refused); r++)
                        if (streq(option, refused[r].option))
                                vmdef_diag_add(diags, VMDEF_ERROR, line, "qemu", "args",
                                               "%s is not allowed, %s; expected other options",
                                               word, refused[r].why);
                if (!takes_checked_value(option))
                        continue;
                const char *value = name[n] == '=' ? name + n + 1 : def->extra_args[i + 1];
                if (name[n] != '=' && value)
                        i++; /* the value is not an option of its own */
                char why[256];
                const char *refusal = value ? value_refusal(option, value, why, sizeof(why)) : NULL;
                if (refusal)
                        vmdef_diag_add(diags, VMDEF_ERROR, line, "qemu", "args",
                                       "-%s %s is not allowed, %s", option, value, refusal);
        }
}
