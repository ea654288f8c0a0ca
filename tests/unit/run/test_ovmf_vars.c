/* The VM's UEFI variable store: copied from the template once, then left alone. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "run/ovmf_vars.h"

static char dir[] = "/tmp/vmlaunch-ovmf-test.XXXXXX";
static char template_path[256], vars_path[256];

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
        static char buf[256];
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(dir))
                return -1;
        snprintf(template_path, sizeof(template_path), "%s/OVMF_VARS_4M.fd", dir);
        snprintf(vars_path, sizeof(vars_path), "%s/vms/win10/OVMF_VARS.fd", dir);
        write_file(template_path, "template");
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static struct vm_def def_with(const char *template, const char *vars)
{
        return (struct vm_def){.firmware = VMDEF_FIRMWARE_UEFI,
                               .ovmf_vars_template = (char *)template,
                               .ovmf_vars = (char *)vars};
}

static void test_first_run_copies_the_template_privately(void **state)
{
        (void)state;
        struct vm_def def = def_with(template_path, vars_path);
        bool created = false;
        struct vl_error err = {0};
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), 0);
        assert_true(created);
        assert_string_equal(read_file(vars_path), "template");
        struct stat st;
        assert_int_equal(stat(vars_path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        char tmp[300];
        snprintf(tmp, sizeof(tmp), "%s.new", vars_path);
        assert_int_equal(access(tmp, F_OK), -1);
}

static void test_existing_vars_keep_the_boot_entries(void **state)
{
        (void)state;
        write_file(vars_path, "boot entries");
        struct vm_def def = def_with(template_path, vars_path);
        bool created = true;
        struct vl_error err = {0};
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), 0);
        assert_false(created);
        assert_string_equal(read_file(vars_path), "boot entries");
}

static void test_bios_firmware_needs_no_vars(void **state)
{
        (void)state;
        struct vm_def def = def_with("/nonexistent", "/nonexistent/vars.fd");
        def.firmware = VMDEF_FIRMWARE_BIOS;
        bool created = true;
        struct vl_error err = {0};
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), 0);
        assert_false(created);
}

static void test_missing_template_is_named(void **state)
{
        (void)state;
        char vars[300];
        snprintf(vars, sizeof(vars), "%s/other/OVMF_VARS.fd", dir);
        struct vm_def def = def_with("/nonexistent/OVMF_VARS_4M.fd", vars);
        bool created = true;
        struct vl_error err = {0};
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), -ENOENT);
        assert_false(created);
        assert_non_null(strstr(err.msg, "[firmware] vars_template /nonexistent/OVMF_VARS_4M.fd"));
        assert_int_equal(access(vars, F_OK), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_run_copies_the_template_privately),
                cmocka_unit_test(test_existing_vars_keep_the_boot_entries),
                cmocka_unit_test(test_bios_firmware_needs_no_vars),
                cmocka_unit_test(test_missing_template_is_named),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
