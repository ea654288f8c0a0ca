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
        mode_t mask = umask(0077);
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), 0);
        umask(mask);
        assert_true(created);
        assert_string_equal(read_file(vars_path), "template");
        struct stat st;
        assert_int_equal(stat(vars_path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        char tmp[300];
        snprintf(tmp, sizeof(tmp), "%s.new", vars_path);
        assert_int_equal(access(tmp, F_OK), -1);
        /* the folders it made let QEMU's user through to the file, whatever the umask */
        snprintf(tmp, sizeof(tmp), "%s/vms", dir);
        assert_int_equal(stat(tmp, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0711);
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

/* A symlink planted as VARS.fd.new once made root overwrite the file it pointed at:
 * the copy is created (O_EXCL|O_NOFOLLOW), never opened. */
static void test_a_planted_new_file_is_not_followed(void **state)
{
        (void)state;
        char vars[300], planted[310], secret[300];
        snprintf(vars, sizeof(vars), "%s/planted/OVMF_VARS.fd", dir);
        snprintf(planted, sizeof(planted), "%s.new", vars);
        snprintf(secret, sizeof(secret), "%s/secret", dir);
        write_file(secret, "root only");
        char folder[300];
        snprintf(folder, sizeof(folder), "%s/planted", dir);
        assert_int_equal(mkdir(folder, 0755), 0);
        assert_int_equal(symlink(secret, planted), 0);
        struct vm_def def = def_with(template_path, vars);
        bool created = false;
        struct vl_error err = {0};
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), 0);
        assert_true(created);
        assert_string_equal(read_file(secret), "root only");
        assert_string_equal(read_file(vars), "template");
}

static void test_a_symlink_as_the_vars_file_is_refused(void **state)
{
        (void)state;
        char vars[400], secret[300], folder[300];
        snprintf(folder, sizeof(folder), "%s/linked", dir);
        snprintf(vars, sizeof(vars), "%s/OVMF_VARS.fd", folder);
        snprintf(secret, sizeof(secret), "%s/secret2", dir);
        write_file(secret, "root only");
        assert_int_equal(mkdir(folder, 0755), 0);
        assert_int_equal(symlink(secret, vars), 0);
        struct vm_def def = def_with(template_path, vars);
        bool created = false;
        struct vl_error err = {0};
        assert_int_equal(ovmf_vars_check(&def, &err), -EPERM);
        assert_non_null(strstr(err.msg, "is a symlink"));
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), -EPERM);
        fprintf(stderr, "%s\n", err.msg);
        assert_non_null(strstr(err.msg, "give the real path"));
        assert_string_equal(read_file(secret), "root only");
}

static void test_a_vars_folder_others_can_write_is_refused(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip(); /* as another user one's own folder is trusted */
        char vars[400], folder[300];
        snprintf(folder, sizeof(folder), "%s/open", dir);
        snprintf(vars, sizeof(vars), "%s/OVMF_VARS.fd", folder);
        assert_int_equal(mkdir(folder, 0755), 0);
        assert_int_equal(chmod(folder, 0777), 0);
        struct vm_def def = def_with(template_path, vars);
        bool created = true;
        struct vl_error err = {0};
        assert_int_equal(ovmf_vars_check(&def, &err), -EPERM);
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), -EPERM);
        fprintf(stderr, "%s\n", err.msg);
        assert_false(created);
        assert_non_null(strstr(err.msg, "/open is writable by others"));
        assert_non_null(strstr(err.msg, "chmod go-w"));
        assert_int_equal(access(vars, F_OK), -1);
        assert_int_equal(chown(folder, 65534, 65534), 0);
        assert_int_equal(chmod(folder, 0755), 0);
        assert_int_equal(ovmf_vars_ensure(&def, &created, &err), -EPERM);
        assert_non_null(strstr(err.msg, "owned by uid 65534"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_first_run_copies_the_template_privately),
                cmocka_unit_test(test_existing_vars_keep_the_boot_entries),
                cmocka_unit_test(test_bios_firmware_needs_no_vars),
                cmocka_unit_test(test_missing_template_is_named),
                cmocka_unit_test(test_a_planted_new_file_is_not_followed),
                cmocka_unit_test(test_a_symlink_as_the_vars_file_is_refused),
                cmocka_unit_test(test_a_vars_folder_others_can_write_is_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
