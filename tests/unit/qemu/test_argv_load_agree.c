/* The loader and the command line agree: what `check` accepts, `run` can build, and the
 * chardev ids vmlaunch creates are the ones [qemu] args may not reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "argv_helpers.h"
#include "vmdefs/vmdef.h"

static struct vm_def *load_ok(const char *text)
{
        struct vm_def *def = NULL;
        struct vmdef_diags diags = {0};
        int r = vmdef_parse_string("/etc/vmlaunch/t.ini", text, strlen(text), &def, &diags);
        for (size_t i = 0; i < diags.count; i++) {
                char line[1024];
                vmdef_diag_format(&diags.items[i], "t.ini", line, sizeof(line));
                print_error("%s\n", line);
        }
        vmdef_diags_free(&diags);
        assert_int_equal(r, 0);
        return def;
}

static bool owned(const char *id, size_t n)
{
        for (size_t i = 0; vmdef_owned_chardev_ids[i]; i++)
                if (strlen(vmdef_owned_chardev_ids[i]) == n &&
                    !strncmp(vmdef_owned_chardev_ids[i], id, n))
                        return true;
        return false;
}

static void test_every_chardev_vmlaunch_creates_has_an_id_args_may_not_reuse(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.serial = "/var/log/vm/t.serial";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        size_t chardevs = count_values(&argv, "-chardev", "");
        assert_true(chardevs >= 3); /* two monitors and the serial log */
        for (size_t i = 0; i < chardevs; i++) {
                const char *value = flag_value(&argv, "-chardev", "", (unsigned)i);
                const char *id = strstr(value, ",id=");
                assert_non_null(id);
                id += 4;
                size_t n = strcspn(id, ",");
                if (!owned(id, n))
                        fail_msg("-chardev %s: id not in vmdef_owned_chardev_ids", value);
        }
        vl_strv_free(&argv);
}

static void test_a_definition_at_every_load_time_limit_builds_its_command_line(void **state)
{
        (void)state;
        char text[4096];
        int n = snprintf(
                text, sizeof(text),
                "[qemu]\naccel = tcg\nmachine = pc-q35-7.2\n[cpu]\nmodel = EPYC-Rome\n"
                "[firmware]\ncode = /c.fd\nvars_template = /t.fd\n"
                "[hyperv]\nvendor_id = 123456789abc\n"
                "[iothreads]\n%.*s = \n"
                "[net.lan]\nmodel = e1000e\n"
                "[gpu]\naddress = 07:00.0\n"
                "group = 07:00.0,07:00.1,07:00.2,07:00.3,07:00.4,07:00.5,07:00.6,07:00.7\n",
                VMDEF_IOTHREAD_ID_MAX,
                "iooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo");
        /* six SATA disks, the first with the longest ID */
        for (int i = 0; i < VMDEF_SATA_PORTS; i++)
                n += snprintf(text + n, sizeof(text) - (size_t)n,
                              "[disk.%.*s%d]\npath = /d%d\nbus = sata\n",
                              i ? 1 : VMDEF_DISK_ID_MAX - 1, "dddddddddddddddddddddd", i, i);
        struct vm_def *def = load_ok(text);
        assert_int_equal(strlen(def->disks[0].id), VMDEF_DISK_ID_MAX);
        assert_int_equal(strlen(def->iothreads[0].id), VMDEF_IOTHREAD_ID_MAX);
        struct qemu_argv_opts opts = test_opts();
        opts.accel = VMDEF_ACCEL_TCG;
        struct vl_strv argv;
        build_ok(def, &opts, &argv);
        vl_strv_free(&argv);
        vmdef_free(def);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_chardev_vmlaunch_creates_has_an_id_args_may_not_reuse),
                cmocka_unit_test(
                        test_a_definition_at_every_load_time_limit_builds_its_command_line),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
