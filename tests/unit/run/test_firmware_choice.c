/* Firmware from QEMU's descriptors: QEMU's folder precedence, the choice for
 * secure_boot and the machine, explicit files, and a VM's vars checked for keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qemu/firmware_descriptors.h"
#include "qemu/firmware_varstore.h"
#include "run/firmware_choice.h"
#include "run/firmware_dirs.h"

#define DEBIAN_ENROLLED_CODE "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
#define DEBIAN_ENROLLED_VARS "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
#define DEBIAN_PLAIN_CODE    "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define DEBIAN_PLAIN_VARS    "/usr/share/OVMF/OVMF_VARS_4M.fd"

static const char *fixture(const char *name)
{
        static char paths[4][512];
        static int next;
        char *p = paths[next++ % 4];
        snprintf(p, sizeof(paths[0]), "%s/tests/fixtures/firmware/%s", getenv("SOURCE_ROOT"), name);
        return p;
}

struct loaded {
        struct fwdesc *list;
        size_t n;
};

static struct loaded load_ok(const char *usr, const char *etc)
{
        const char *dirs[] = {fixture(usr), fixture(etc)};
        struct loaded l;
        struct vl_error err = {0};
        if (firmware_dirs_load(dirs, 2, &l.list, &l.n, &err) < 0)
                fail_msg("firmware_dirs_load: %s", err.msg);
        return l;
}

static const char *load_fails(const char *usr, const char *etc)
{
        static struct vl_error err;
        const char *dirs[] = {fixture(usr), fixture(etc)};
        struct fwdesc *list = (struct fwdesc *)1;
        size_t n = 1;
        err = (struct vl_error){0};
        assert_true(firmware_dirs_load(dirs, 2, &list, &n, &err) < 0);
        assert_null(list);
        assert_int_equal(n, 0);
        return err.msg;
}

static struct fwdesc_choice choose_ok(const struct loaded *l, const char *machine, bool secure)
{
        struct fwdesc_request req = {.machine = machine, .secure_boot = secure};
        struct fwdesc_choice c;
        struct vl_error err = {0};
        if (fwdesc_select(l->list, l->n, &req, &c, &err) < 0)
                fail_msg("fwdesc_select: %s", err.msg);
        return c;
}

static const char *choose_fails(const struct loaded *l, const char *machine, bool secure)
{
        static struct vl_error err;
        struct fwdesc_request req = {.machine = machine, .secure_boot = secure};
        struct fwdesc_choice c;
        err = (struct vl_error){0};
        assert_int_equal(fwdesc_select(l->list, l->n, &req, &c, &err), -ENOENT);
        return err.msg;
}

static void test_secure_boot_picks_debians_enrolled_keys_build_with_smm(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "absent");
        assert_int_equal(l.n, 3);
        struct fwdesc_choice c = choose_ok(&l, "q35", true);
        assert_string_equal(c.desc->name, "40-edk2-x86_64-secure-enrolled.json");
        assert_string_equal(c.code, DEBIAN_ENROLLED_CODE);
        assert_string_equal(c.vars_template, DEBIAN_ENROLLED_VARS);
        assert_true(c.secure);
        assert_non_null(strstr(
                c.reason,
                "40-edk2-x86_64-secure-enrolled.json: first by name with secure-boot and enrolled-keys"));
        firmware_dirs_free(l.list, l.n);
}

static void
test_without_secure_boot_the_build_without_keys_or_smm_wins_over_better_names(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "absent");
        struct fwdesc_choice c = choose_ok(&l, "pc-q35-7.2", false);
        assert_string_equal(c.desc->name, "60-edk2-x86_64.json");
        assert_string_equal(c.code, DEBIAN_PLAIN_CODE);
        assert_string_equal(c.vars_template, DEBIAN_PLAIN_VARS);
        assert_false(c.secure);
        firmware_dirs_free(l.list, l.n);
}

static void test_without_secure_boot_an_smm_build_is_taken_when_it_is_all_there_is(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "absent");
        /* Only 40- (keys: never without secure_boot) and 50- (SMM, no keys) left. */
        fwdesc_free(&l.list[2]);
        l.n = 2;
        struct fwdesc_choice c = choose_ok(&l, "q35", false);
        assert_string_equal(c.desc->name, "50-edk2-x86_64-secure.json");
        assert_true(c.secure);
        firmware_dirs_free(l.list, l.n);
}

static void test_a_file_sorted_first_by_name_has_the_highest_priority(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "etc-first-by-name");
        assert_int_equal(l.n, 4);
        assert_string_equal(l.list[0].name, "10-local.json");
        struct fwdesc_choice c = choose_ok(&l, "q35", false);
        assert_string_equal(c.code, "/opt/ovmf/FIRST.fd");
        firmware_dirs_free(l.list, l.n);
}

static void test_an_etc_file_replaces_the_usr_file_of_the_same_name(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "etc-override");
        assert_int_equal(l.n, 3);
        struct fwdesc_choice c = choose_ok(&l, "q35", false);
        assert_string_equal(c.code, "/etc/local/OVMF_CODE_LOCAL.fd");
        assert_non_null(strstr(c.desc->path, "etc-override/60-edk2-x86_64.json"));
        firmware_dirs_free(l.list, l.n);
}

static void test_an_empty_etc_file_hides_the_usr_file_so_no_secure_build_is_left(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "etc-hides-enrolled");
        assert_int_equal(l.n, 2);
        const char *msg = choose_fails(&l, "q35", true);
        assert_non_null(strstr(
                msg,
                "no firmware descriptor offers UEFI with secure-boot and enrolled-keys for x86_64 machine q35 (2 read)"));
        assert_non_null(strstr(msg, "Debian: package ovmf"));
        firmware_dirs_free(l.list, l.n);
}

static void test_no_secure_boot_build_installed_names_the_package(void **state)
{
        (void)state;
        struct loaded l = load_ok("no-secure-build", "absent");
        const char *msg = choose_fails(&l, "q35", true);
        assert_non_null(strstr(msg, "install one (Debian: package ovmf"));
        firmware_dirs_free(l.list, l.n);
}

static void test_missing_folders_add_nothing(void **state)
{
        (void)state;
        struct loaded l = load_ok("absent", "also-absent");
        assert_int_equal(l.n, 0);
        assert_null(l.list);
        assert_non_null(strstr(choose_fails(&l, "q35", false), "(0 read)"));
}

static void test_malformed_json_is_an_error_naming_the_file(void **state)
{
        (void)state;
        const char *msg = load_fails("debian-ovmf/usr", "malformed");
        assert_non_null(strstr(msg, "firmware descriptor "));
        assert_non_null(strstr(msg, "tests/fixtures/firmware/malformed/30-broken.json: "));
}

static void test_json_that_is_no_descriptor_is_an_error_naming_the_file(void **state)
{
        (void)state;
        const char *msg = load_fails("debian-ovmf/usr", "not-an-object");
        assert_non_null(strstr(msg, "not-an-object/30-array.json: not a JSON object"));
}

static void test_machine_globs_decide_which_builds_fit(void **state)
{
        (void)state;
        struct loaded l = load_ok("i440fx-only", "absent");
        assert_non_null(strstr(choose_fails(&l, "q35", false), "machine q35"));
        assert_string_equal(choose_ok(&l, "pc", false).code, "/usr/share/OVMF/OVMF_CODE_I440FX.fd");
        assert_string_equal(choose_ok(&l, "pc-i440fx-7.2", false).code,
                            "/usr/share/OVMF/OVMF_CODE_I440FX.fd");
        assert_string_equal(choose_ok(&l, "pc-q35-2.12", false).code,
                            "/usr/share/OVMF/OVMF_CODE_OLD_Q35.fd");
        assert_non_null(strstr(choose_fails(&l, "pc-q35-7.2", false), "machine pc-q35-7.2"));
        firmware_dirs_free(l.list, l.n);
}

static void test_explicit_code_and_vars_template_win_and_secure_boot_still_applies(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "absent");
        struct fwdesc_request req = {.machine = "q35",
                                     .secure_boot = true,
                                     .code = "/srv/MY_CODE.fd",
                                     .vars_template = "/srv/MY_VARS.fd"};
        struct fwdesc_choice c;
        assert_int_equal(fwdesc_select(l.list, l.n, &req, &c, NULL), 0);
        assert_null(c.desc);
        assert_string_equal(c.code, "/srv/MY_CODE.fd");
        assert_string_equal(c.vars_template, "/srv/MY_VARS.fd");
        assert_true(c.secure);
        req.secure_boot = false;
        assert_int_equal(fwdesc_select(l.list, l.n, &req, &c, NULL), 0);
        assert_false(c.secure);
        firmware_dirs_free(l.list, l.n);
}

static void test_explicit_code_takes_its_own_descriptors_template_and_smm(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "absent");
        struct fwdesc_request req = {.machine = "q35",
                                     .code = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"};
        struct fwdesc_choice c;
        assert_int_equal(fwdesc_select(l.list, l.n, &req, &c, NULL), 0);
        assert_string_equal(c.desc->name, "50-edk2-x86_64-secure.json");
        assert_string_equal(c.vars_template, DEBIAN_PLAIN_VARS);
        assert_true(c.secure); /* that build requires SMM */
        struct vl_error err = {0};
        req.code = "/srv/UNKNOWN.fd";
        assert_int_equal(fwdesc_select(l.list, l.n, &req, &c, &err), -ENOENT);
        assert_non_null(strstr(
                err.msg,
                "no firmware descriptor names /srv/UNKNOWN.fd as its executable; give its vars_template too"));
        firmware_dirs_free(l.list, l.n);
}

static void test_explicit_vars_template_keeps_the_chosen_code(void **state)
{
        (void)state;
        struct loaded l = load_ok("debian-ovmf/usr", "absent");
        struct fwdesc_request req = {
                .machine = "q35", .secure_boot = true, .vars_template = "/srv/MY_VARS.fd"};
        struct fwdesc_choice c;
        assert_int_equal(fwdesc_select(l.list, l.n, &req, &c, NULL), 0);
        assert_string_equal(c.code, DEBIAN_ENROLLED_CODE);
        assert_string_equal(c.vars_template, "/srv/MY_VARS.fd");
        firmware_dirs_free(l.list, l.n);
}

/* ---- a VM's vars under secure_boot = yes (Debian's real OVMF files) ---- */

static bool have_debian_ovmf(void)
{
        if (access(DEBIAN_ENROLLED_VARS, R_OK) == 0 && access(DEBIAN_PLAIN_VARS, R_OK) == 0)
                return true;
        print_message("skipped: OVMF is not installed (Debian package ovmf)\n");
        return false;
}

static void test_vars_made_from_the_enrolled_template_pass(void **state)
{
        (void)state;
        if (!have_debian_ovmf())
                return;
        struct vm_def def = {.firmware = VMDEF_FIRMWARE_UEFI,
                             .secure_boot = true,
                             .ovmf_vars = DEBIAN_ENROLLED_VARS};
        assert_int_equal(firmware_choice_check_vars(&def, NULL), 0);
}

static void test_vars_without_enrolled_keys_are_refused_naming_the_file(void **state)
{
        (void)state;
        if (!have_debian_ovmf())
                return;
        struct vm_def def = {.firmware = VMDEF_FIRMWARE_UEFI,
                             .secure_boot = true,
                             .ovmf_vars = DEBIAN_PLAIN_VARS,
                             .ovmf_vars_template = DEBIAN_ENROLLED_VARS};
        struct vl_error err = {0};
        assert_int_equal(firmware_choice_check_vars(&def, &err), -EPERM);
        assert_non_null(strstr(err.msg, "[firmware] vars " DEBIAN_PLAIN_VARS
                                        " holds no enrolled Secure Boot keys"));
        assert_non_null(strstr(err.msg, "made again from " DEBIAN_ENROLLED_VARS));
        /* The same file is fine without secure_boot, and a vars not made yet is too. */
        def.secure_boot = false;
        assert_int_equal(firmware_choice_check_vars(&def, NULL), 0);
        def.secure_boot = true;
        def.ovmf_vars = "/nonexistent/OVMF_VARS.fd";
        assert_int_equal(firmware_choice_check_vars(&def, NULL), 0);
}

static void test_a_file_that_is_no_varstore_has_no_keys(void **state)
{
        (void)state;
        static const unsigned char junk[4096] = {'P', 0, 'K', 0, 0, 0};
        assert_int_equal(firmware_varstore_has_pk(junk, sizeof(junk)), -EINVAL);
        assert_int_equal(firmware_varstore_has_pk(junk, 10), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_secure_boot_picks_debians_enrolled_keys_build_with_smm),
                cmocka_unit_test(
                        test_without_secure_boot_the_build_without_keys_or_smm_wins_over_better_names),
                cmocka_unit_test(
                        test_without_secure_boot_an_smm_build_is_taken_when_it_is_all_there_is),
                cmocka_unit_test(test_a_file_sorted_first_by_name_has_the_highest_priority),
                cmocka_unit_test(test_an_etc_file_replaces_the_usr_file_of_the_same_name),
                cmocka_unit_test(
                        test_an_empty_etc_file_hides_the_usr_file_so_no_secure_build_is_left),
                cmocka_unit_test(test_no_secure_boot_build_installed_names_the_package),
                cmocka_unit_test(test_missing_folders_add_nothing),
                cmocka_unit_test(test_malformed_json_is_an_error_naming_the_file),
                cmocka_unit_test(test_json_that_is_no_descriptor_is_an_error_naming_the_file),
                cmocka_unit_test(test_machine_globs_decide_which_builds_fit),
                cmocka_unit_test(
                        test_explicit_code_and_vars_template_win_and_secure_boot_still_applies),
                cmocka_unit_test(test_explicit_code_takes_its_own_descriptors_template_and_smm),
                cmocka_unit_test(test_explicit_vars_template_keeps_the_chosen_code),
                cmocka_unit_test(test_vars_made_from_the_enrolled_template_pass),
                cmocka_unit_test(test_vars_without_enrolled_keys_are_refused_naming_the_file),
                cmocka_unit_test(test_a_file_that_is_no_varstore_has_no_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
