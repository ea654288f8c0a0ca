/* qemu_argv_platform.c: the PIT and ACPI sleep globals of a Windows guest, SMBIOS
 * strings copied from the host, and the 64-bit PCI window sized for large BARs. */
#include "argv_helpers.h"
#include "qemu/qemu_platform.h"

static size_t count_flag(const struct vl_strv *argv, const char *flag)
{
        size_t n = 0;
        for (size_t i = 1; i < argv->count; i++)
                n += !strcmp(argv->items[i], flag);
        return n;
}

static struct vm_def windows_def(void)
{
        struct vm_def def = test_def();
        def.hyperv.enabled = true;
        return def;
}

static void test_windows_guest_under_kvm_gets_pit_delay_and_no_s3_s4(void **state)
{
        (void)state;
        struct vm_def def = windows_def();
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_non_null(flag_value(&argv, "-global", "kvm-pit.lost_tick_policy=delay", 0));
        assert_non_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s3=1", 0));
        assert_non_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s4=1", 0));
        assert_int_equal(count_flag(&argv, "-global"), 3);
        vl_strv_free(&argv);
}

static void test_windows_guest_under_tcg_has_no_kvm_pit_global(void **state)
{
        (void)state;
        struct vm_def def = windows_def();
        struct qemu_argv_opts opts = {.accel = VMDEF_ACCEL_TCG};
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_null(flag_value(&argv, "-global", "kvm-pit", 0));
        assert_non_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s3=1", 0));
        vl_strv_free(&argv);
}

static void test_guest_without_hyperv_keeps_qemus_defaults(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_int_equal(count_flag(&argv, "-global"), 0);
        vl_strv_free(&argv);
}

static void test_each_default_can_be_overridden(void **state)
{
        (void)state;
        struct vm_def def = windows_def();
        def.pit_policy = VMDEF_PIT_DISCARD;
        def.suspend_to_ram = VMDEF_SLEEP_ON;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_non_null(flag_value(&argv, "-global", "kvm-pit.lost_tick_policy=discard", 0));
        assert_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s3", 0));
        assert_non_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s4=1", 0));
        vl_strv_free(&argv);

        /* and asked for on a guest without Hyper-V */
        def = test_def();
        def.pit_policy = VMDEF_PIT_DELAY;
        def.suspend_to_disk = VMDEF_SLEEP_OFF;
        build_ok(&def, NULL, &argv);
        assert_non_null(flag_value(&argv, "-global", "kvm-pit.lost_tick_policy=delay", 0));
        assert_non_null(flag_value(&argv, "-global", "ICH9-LPC.disable_s4=1", 0));
        assert_int_equal(count_flag(&argv, "-global"), 2);
        vl_strv_free(&argv);
}

static void test_i440fx_sleep_states_are_piix4s(void **state)
{
        (void)state;
        struct vm_def def = windows_def();
        def.machine = "pc-i440fx-7.2";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_non_null(flag_value(&argv, "-global", "PIIX4_PM.disable_s3=1", 0));
        assert_null(flag_value(&argv, "-global", "ICH9-LPC", 0));
        vl_strv_free(&argv);
}

/* Host strings indexed like qemu_smbios_fields[]. */
static const char *smbios_value(const char *const *host, const char *file)
{
        for (size_t i = 0; i < QEMU_SMBIOS_N_FIELDS; i++)
                if (!strcmp(qemu_smbios_fields[i].dmi_file, file))
                        return host[i];
        return NULL;
}

static void set_smbios(const char **host, const char *file, const char *value)
{
        for (size_t i = 0; i < QEMU_SMBIOS_N_FIELDS; i++)
                if (!strcmp(qemu_smbios_fields[i].dmi_file, file))
                        host[i] = value;
}

static void test_smbios_host_gives_one_option_per_type_with_commas_doubled(void **state)
{
        (void)state;
        const char *host[QEMU_SMBIOS_N_FIELDS] = {0};
        set_smbios(host, "bios_vendor", "American Megatrends Inc.");
        set_smbios(host, "bios_date", "08/11/2023");
        set_smbios(host, "sys_vendor", "ACME, Inc.");
        set_smbios(host, "product_serial", "SN,42=x");
        set_smbios(host, "product_uuid", "5a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
        set_smbios(host, "board_version", "Rev 1.xx, B2");
        set_smbios(host, "chassis_asset_tag", "Default string");
        set_smbios(host, "product_sku", "");
        assert_string_equal(smbios_value(host, "product_serial"), "SN,42=x");

        struct vm_def def = test_def();
        def.smbios_mode = VMDEF_SMBIOS_HOST;
        struct qemu_argv_opts opts = test_opts();
        opts.smbios_host = host;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-smbios", "type=0", 0),
                            "type=0,vendor=American Megatrends Inc.,date=08/11/2023");
        assert_string_equal(
                flag_value(&argv, "-smbios", "type=1", 0),
                "type=1,manufacturer=ACME,, Inc.,serial=SN,,42=x,uuid=5a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9");
        assert_string_equal(flag_value(&argv, "-smbios", "type=2", 0),
                            "type=2,version=Rev 1.xx,, B2");
        assert_string_equal(flag_value(&argv, "-smbios", "type=3", 0),
                            "type=3,asset=Default string");
        assert_int_equal(count_flag(&argv, "-smbios"), 4);
        vl_strv_free(&argv);
}

static void test_smbios_skips_a_type_with_no_strings_and_a_malformed_uuid(void **state)
{
        (void)state;
        const char *host[QEMU_SMBIOS_N_FIELDS] = {0};
        set_smbios(host, "product_uuid", "Not Settable");
        set_smbios(host, "board_name", "B650M");
        struct vm_def def = test_def();
        def.smbios_mode = VMDEF_SMBIOS_HOST;
        struct qemu_argv_opts opts = test_opts();
        opts.smbios_host = host;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_int_equal(count_flag(&argv, "-smbios"), 1);
        assert_string_equal(flag_value(&argv, "-smbios", "type=", 0), "type=2,product=B650M");
        vl_strv_free(&argv);
}

static void test_smbios_mode_none_ignores_the_host_strings(void **state)
{
        (void)state;
        const char *host[QEMU_SMBIOS_N_FIELDS] = {"AMI"};
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        opts.smbios_host = host;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_int_equal(count_flag(&argv, "-smbios"), 0);
        vl_strv_free(&argv);
}

static void test_pci_window_is_a_power_of_two_above_ovmfs_default(void **state)
{
        (void)state;
        assert_int_equal(qemu_pci_mmio64_mb(0), 0);
        assert_int_equal(qemu_pci_mmio64_mb(256ULL << 20), 0);                  /* RTX 2060 */
        assert_int_equal(qemu_pci_mmio64_mb((16ULL << 30) + (32ULL << 20)), 0); /* fits 32G */
        assert_int_equal(qemu_pci_mmio64_mb((32ULL << 30) + (32ULL << 20)), 65536);
        assert_int_equal(qemu_pci_mmio64_mb(2 * ((32ULL << 30) + (32ULL << 20))), 131072);
        assert_int_equal(qemu_pci_mmio64_mb(31ULL << 30), 0);
        assert_int_equal(qemu_pci_mmio64_mb((31ULL << 30) + 1), 65536); /* no headroom left */
}

static void test_large_bars_get_a_fw_cfg_window_small_ones_none(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        opts.gpu_bar64_bytes = (32ULL << 30) + (32ULL << 20);
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-fw_cfg", "", 0),
                            "name=opt/ovmf/X-PciMmio64Mb,string=65536");
        vl_strv_free(&argv);

        opts.gpu_bar64_bytes = 256ULL << 20;
        build_ok(&def, &opts, &argv);
        assert_int_equal(count_flag(&argv, "-fw_cfg"), 0);
        vl_strv_free(&argv);

        /* SeaBIOS has no such setting */
        def.firmware = VMDEF_FIRMWARE_BIOS;
        opts.gpu_bar64_bytes = 64ULL << 30;
        build_ok(&def, &opts, &argv);
        assert_int_equal(count_flag(&argv, "-fw_cfg"), 0);
        vl_strv_free(&argv);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_windows_guest_under_kvm_gets_pit_delay_and_no_s3_s4),
                cmocka_unit_test(test_windows_guest_under_tcg_has_no_kvm_pit_global),
                cmocka_unit_test(test_guest_without_hyperv_keeps_qemus_defaults),
                cmocka_unit_test(test_each_default_can_be_overridden),
                cmocka_unit_test(test_i440fx_sleep_states_are_piix4s),
                cmocka_unit_test(test_smbios_host_gives_one_option_per_type_with_commas_doubled),
                cmocka_unit_test(test_smbios_skips_a_type_with_no_strings_and_a_malformed_uuid),
                cmocka_unit_test(test_smbios_mode_none_ignores_the_host_strings),
                cmocka_unit_test(test_pci_window_is_a_power_of_two_above_ovmfs_default),
                cmocka_unit_test(test_large_bars_get_a_fw_cfg_window_small_ones_none),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
