/* What run/host_facts.c reads for the guest's platform from a fixture host
 * (rtx4090-rebar: a 32 GiB BAR with Resizable BAR, an ASUS board's DMI strings), and
 * the QEMU options the pure builder makes of it: -smbios per type, escaped, and the
 * 64-bit PCI window OVMF needs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hostprep/hostprep.h"
#include "hostprep_fixture.h"
#include "qemu/qemu_argv.h"
#include "run/host_facts.h"

#define DEF_RTX4090                                                                                \
        "[vm]\nname = t\n[cpu]\nmodel = max\n[qemu]\naccel = kvm\n"                                \
        "[gpu]\naddress = 01:00.0\n[smbios]\nmode = host\n"

struct facts_run {
        struct fixture fixture;
        struct host_facts facts;
        struct vmdef_diags diags;
};

static void resolve(struct facts_run *t, const char *tree, const char *ini)
{
        fixture_setup(&t->fixture, tree, ini);
        struct host_facts_opts opts = {.mode = HOST_FACTS_PLAN, .topology_origin = TOPOLOGY_HOST};
        struct vl_error err = {0};
        t->diags = (struct vmdef_diags){0};
        if (host_facts_resolve(t->fixture.def, &opts, &t->facts, &t->diags, &err) < 0)
                fail_msg("host_facts_resolve: %s", err.msg);
}

static void finish(struct facts_run *t)
{
        host_facts_free(&t->facts);
        vmdef_diags_free(&t->diags);
        fixture_teardown(&t->fixture);
}

static void build(struct facts_run *t, struct vl_strv *argv)
{
        struct qemu_argv_opts opts = {
                .accel = VMDEF_ACCEL_KVM,
                .gpu_group = t->facts.gpu_group,
                .n_gpu_group = t->facts.n_gpu_group,
                .smbios_host =
                        t->facts.has_smbios_host ? (const char *const *)t->facts.smbios_host : NULL,
                .gpu_bar64_bytes = t->facts.gpu_bar64_bytes,
        };
        struct vl_error err = {0};
        *argv = (struct vl_strv){0};
        if (qemu_argv_build(t->fixture.def, &opts, argv, &err) < 0)
                fail_msg("qemu_argv_build: %s", err.msg);
}

static const char *value_of(const struct vl_strv *argv, const char *flag, const char *prefix)
{
        for (size_t i = 1; i + 1 < argv->count; i++)
                if (!strcmp(argv->items[i], flag) &&
                    !strncmp(argv->items[i + 1], prefix, strlen(prefix)))
                        return argv->items[i + 1];
        return NULL;
}

static void test_resource_file_parses_into_64bit_prefetchable_bars(void **state)
{
        (void)state;
        struct hostprep_pci_bars bars;
        const char *text = "0x00000000fb000000 0x00000000fbffffff 0x0000000000040200\n"
                           "0x0000007000000000 0x00000077ffffffff 0x000000000014220c\n"
                           "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
                           "0x00000000f0000000 0x00000000f1ffffff 0x000000000004220c\n";
        assert_int_equal(hostprep_pci_bars_parse(text, &bars), 0);
        assert_int_equal(bars.bytes[0], 16ULL << 20);
        assert_int_equal(bars.bytes[1], 32ULL << 30);
        assert_int_equal(bars.bytes[3], 32ULL << 20);
        /* BAR 3 is prefetchable but 32-bit: it does not go in the 64-bit window */
        assert_int_equal(bars.mem64_prefetch, 1u << 1);
        assert_int_equal(bars.mem64_prefetch_bytes, 32ULL << 30);
        assert_int_equal(hostprep_pci_bars_parse("garbage\n", &bars), -EINVAL);
}

static void test_gpu_group_bars_are_summed_and_rebar_is_noted(void **state)
{
        (void)state;
        struct facts_run t;
        resolve(&t, "rtx4090-rebar", DEF_RTX4090);
        assert_int_equal(t.facts.n_gpu_group, 2);
        assert_int_equal(t.facts.gpu_bar64_bytes, (32ULL << 30) + (32ULL << 20));
        bool noted = false;
        for (size_t i = 0; i < t.diags.count; i++)
                if (strstr(t.diags.items[i].msg, "0000:01:00.0 BAR 1 supports Resizable BAR") &&
                    strstr(t.diags.items[i].msg, "32768 MiB") &&
                    t.diags.items[i].severity == VMDEF_WARNING)
                        noted = true;
        assert_true(noted);

        struct vl_strv argv;
        build(&t, &argv);
        assert_string_equal(value_of(&argv, "-fw_cfg", "name=opt/ovmf/X-PciMmio64Mb"),
                            "name=opt/ovmf/X-PciMmio64Mb,string=65536");
        vl_strv_free(&argv);
        finish(&t);
}

static void test_small_bars_keep_ovmfs_window_and_no_rebar_note(void **state)
{
        (void)state;
        struct facts_run t;
        resolve(&t, "rtx2060-4fn",
                "[vm]\nname = t\n[cpu]\nmodel = max\n[gpu]\naddress = 06:00.0\n");
        assert_int_equal(t.facts.gpu_bar64_bytes, (256ULL << 20) + (32ULL << 20));
        for (size_t i = 0; i < t.diags.count; i++)
                assert_null(strstr(t.diags.items[i].msg, "Resizable BAR"));
        struct vl_strv argv;
        build(&t, &argv);
        assert_null(value_of(&argv, "-fw_cfg", ""));
        assert_null(value_of(&argv, "-smbios", "")); /* [smbios] mode = none */
        vl_strv_free(&argv);
        finish(&t);
}

static void test_smbios_host_strings_reach_qemu_escaped(void **state)
{
        (void)state;
        struct facts_run t;
        resolve(&t, "rtx4090-rebar", DEF_RTX4090);
        struct vl_strv argv;
        build(&t, &argv);
        assert_string_equal(value_of(&argv, "-smbios", "type=0"),
                            "type=0,vendor=American Megatrends Inc.,version=1602,date=08/11/2023");
        assert_string_equal(
                value_of(&argv, "-smbios", "type=1"),
                "type=1,manufacturer=ASUS,product=System Product Name,version=System Version,"
                "serial=SN,,42=x,uuid=5a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9,"
                "family=To Be Filled By O.E.M.");
        assert_string_equal(value_of(&argv, "-smbios", "type=2"),
                            "type=2,manufacturer=ASUSTeK COMPUTER INC.,"
                            "product=ROG STRIX X670E-E GAMING WIFI,version=Rev 1.xx,, B2,"
                            "serial=230512345678901");
        assert_string_equal(value_of(&argv, "-smbios", "type=3"),
                            "type=3,manufacturer=Default string,version=Default string,"
                            "serial=Default string,asset=Default string");
        vl_strv_free(&argv);
        finish(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resource_file_parses_into_64bit_prefetchable_bars),
                cmocka_unit_test(test_gpu_group_bars_are_summed_and_rebar_is_noted),
                cmocka_unit_test(test_small_bars_keep_ovmfs_window_and_no_rebar_note),
                cmocka_unit_test(test_smbios_host_strings_reach_qemu_escaped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
