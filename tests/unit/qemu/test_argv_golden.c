/* Golden test: examples/win10.ini (the guide's setup) gives exactly the command line
 * in tests/fixtures/argv/win10.args, one argument per line.
 * After an intended change, regenerate it with
 *   VMLAUNCH_UPDATE_GOLDEN=1 meson test -C BUILD test_argv_golden
 * and review the diff of the fixture like code. */
#include "argv_helpers.h"

#include <errno.h>

static char *read_whole_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open %s: %s", path, strerror(errno));
        char *text = NULL;
        size_t cap = 0;
        *len = 0;
        for (;;) {
                if (*len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        text = realloc(text, cap);
                        assert_non_null(text);
                }
                size_t n = fread(text + *len, 1, cap - *len - 1, f);
                *len += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        text[*len] = '\0';
        return text;
}

static char *source_path(const char *relative)
{
        const char *root = getenv("SOURCE_ROOT");
        char *path = NULL;
        assert_true(asprintf(&path, "%s/%s", root ? root : ".", relative) > 0);
        return path;
}

static struct vm_def *load_example(const char *relative)
{
        char *path = source_path(relative);
        size_t len;
        char *text = read_whole_file(path, &len);
        struct vm_def *def = NULL;
        struct vmdef_diags diags = {0};
        /* parse_string, not load: the file's owner is whoever checked the tree out */
        int r = vmdef_parse_string(path, text, len, &def, &diags);
        for (size_t i = 0; i < diags.count; i++) {
                char line[1024];
                vmdef_diag_format(&diags.items[i], path, line, sizeof(line));
                print_message("%s\n", line);
        }
        assert_int_equal(r, 0);
        assert_int_equal(diags.n_errors, 0);
        vmdef_diags_free(&diags);
        free(text);
        free(path);
        return def;
}

static void write_golden(const char *path, const struct vl_strv *argv)
{
        FILE *f = fopen(path, "we");
        if (!f)
                fail_msg("cannot write %s: %s", path, strerror(errno));
        for (size_t i = 0; i < argv->count; i++)
                fprintf(f, "%s\n", argv->items[i]);
        assert_int_equal(fclose(f), 0);
}

/* Compares line by line and prints every difference with its argument number. */
static void assert_matches_golden(const struct vl_strv *argv, const char *relative)
{
        char *path = source_path(relative);
        if (getenv("VMLAUNCH_UPDATE_GOLDEN")) {
                write_golden(path, argv);
                print_message("updated %s\n", path);
        }
        size_t len;
        char *text = read_whole_file(path, &len);
        struct vl_strv expected = {0};
        for (char *line = text, *nl; *line; line = nl + 1) {
                nl = strchr(line, '\n');
                assert_non_null(nl); /* every line ends with a newline */
                *nl = '\0';
                assert_int_equal(vl_strv_push(&expected, line), 0);
        }

        size_t n = argv->count > expected.count ? argv->count : expected.count;
        unsigned differences = 0;
        for (size_t i = 0; i < n; i++) {
                const char *want = i < expected.count ? expected.items[i] : "(nothing)";
                const char *got = i < argv->count ? argv->items[i] : "(nothing)";
                if (strcmp(want, got)) {
                        print_message("argument %zu differs:\n  expected: %s\n  actual:   %s\n", i,
                                      want, got);
                        differences++;
                }
        }
        if (differences)
                print_message(
                        "%u of %zu arguments differ from %s (%zu expected, %zu built); if intended, regenerate with VMLAUNCH_UPDATE_GOLDEN=1\n",
                        differences, n, relative, expected.count, argv->count);
        vl_strv_free(&expected);
        free(text);
        free(path);
        assert_int_equal(differences, 0);
}

static void test_guide_win10_example_gives_the_golden_command_line(void **state)
{
        (void)state;
        struct vm_def *def = load_example("examples/win10.ini");
        struct qemu_argv_opts opts = {.accel = VMDEF_ACCEL_KVM};
        struct vl_strv argv;
        build_ok(def, &opts, &argv);
        assert_matches_golden(&argv, "tests/fixtures/argv/win10.args");
        vl_strv_free(&argv);
        vmdef_free(def);
}

/* The same VM with secure_boot = yes on Debian's enrolled-keys build: only smm=on and
 * the secure pflash differ from win10.args. */
static void test_guide_win10_with_secure_boot_gives_its_golden_command_line(void **state)
{
        (void)state;
        struct vm_def *def = load_example("examples/win10.ini");
        def->secure_boot = true;
        struct qemu_argv_opts opts = {.accel = VMDEF_ACCEL_KVM, .firmware_secure = true};
        struct vl_strv argv;
        build_ok(def, &opts, &argv);
        assert_matches_golden(&argv, "tests/fixtures/argv/win10-secure-boot.args");
        vl_strv_free(&argv);
        vmdef_free(def);
}

static void test_demo_example_builds_under_tcg_without_kvm_only_flags(void **state)
{
        (void)state;
        struct vm_def *def = load_example("examples/demo.ini");
        struct qemu_argv_opts opts = {.accel = VMDEF_ACCEL_TCG};
        struct vl_strv argv;
        build_ok(def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-accel", "", 0), "tcg,thread=multi");
        assert_string_equal(flag_value(&argv, "-cpu", "", 0), "max");
        assert_string_equal(flag_value(&argv, "-serial", "", 0), "chardev:serial0");
        assert_int_equal(count_values(&argv, "-device", "vfio-pci"), 0);
        vl_strv_free(&argv);
        vmdef_free(def);
}

static void test_win11_example_loads_with_host_smbios_and_windows_platform_defaults(void **state)
{
        (void)state;
        struct vm_def *def = load_example("examples/win11.ini");
        assert_int_equal(def->smbios_mode, VMDEF_SMBIOS_HOST);
        assert_true(def->tpm_enabled);
        assert_true(def->secure_boot);

        /* What the host's firmware descriptors give on Debian (run/firmware_choice.c). */
        def->ovmf_code = strdup("/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
        def->ovmf_vars_template = strdup("/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
        const char *host[19] = {"American Megatrends Inc."};
        struct qemu_argv_opts opts = {
                .accel = VMDEF_ACCEL_KVM, .smbios_host = host, .firmware_secure = true};
        struct vl_strv argv;
        build_ok(def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-smbios", "", 0),
                            "type=0,vendor=American Megatrends Inc.");
        assert_non_null(flag_value(&argv, "-global", "kvm-pit.lost_tick_policy=delay", 0));
        assert_non_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s3=1", 0));
        assert_non_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s4=1", 0));
        assert_non_null(strstr(flag_value(&argv, "-machine", "", 0), ",smm=on"));
        assert_non_null(flag_value(&argv, "-global", "driver=cfi.pflash01,property=secure", 0));
        assert_non_null(flag_value(&argv, "-device", "tpm-crb", 0));
        vl_strv_free(&argv);
        vmdef_free(def);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_guide_win10_example_gives_the_golden_command_line),
                cmocka_unit_test(test_guide_win10_with_secure_boot_gives_its_golden_command_line),
                cmocka_unit_test(test_demo_example_builds_under_tcg_without_kvm_only_flags),
                cmocka_unit_test(
                        test_win11_example_loads_with_host_smbios_and_windows_platform_defaults),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
