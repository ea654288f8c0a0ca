/* The plan for each fixture host: the ordered list of what prepare would change. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hostprep_defs.h"
#include "hostprep_fixture.h"

/* setup_rel, setup_content: a file written under TMP before planning (or NULL) */
static char *plan_of_changed(const char *tree, const char *ini, const char *setup_rel,
                             const char *setup_content)
{
        struct fixture f;
        fixture_setup(&f, tree, ini);
        if (setup_rel)
                fixture_write_tmp(&f, setup_rel, setup_content);
        struct hostprep_plan plan;
        struct vl_error err = {0};
        int r = hostprep_plan(f.def, &f.opts, &plan, &err);
        if (r < 0)
                fprintf(stderr, "plan: %s\n", err.msg);
        assert_int_equal(r, 0);
        char *text = fixture_plan_text(&plan);
        hostprep_plan_free(&plan);
        fixture_teardown(&f);
        return text;
}

static char *plan_of(const char *tree, const char *ini)
{
        return plan_of_changed(tree, ini, NULL, NULL);
}

static void assert_plan(const char *tree, const char *ini, const char *expected)
{
        char *text = plan_of(tree, ini);
        if (strcmp(text, expected) != 0)
                fprintf(stderr, "plan of %s:\n%s\nexpected:\n%s\n", tree, text, expected);
        assert_string_equal(text, expected);
        free(text);
}

static void test_plan_rtx2060_4fn_unloads_nvidia_stack_and_binds_four_functions(void **state)
{
        (void)state;
        assert_plan(
                "rtx2060-4fn", DEF_RTX2060,
                "checks: IOMMU group 14: 0000:00:01.0 (PCI bridge, pcieport), 0000:06:00.0 (VGA compatible controller, nvidia), 0000:06:00.1 (Audio device, snd_hda_intel), 0000:06:00.2 (USB controller, xhci_hcd), 0000:06:00.3 (Serial bus controller, nvidia-gpu)\n"
                "checks: no device the host needs in the group, nobody else holds the GPU\n"
                "hugepages: reserve 512 x 2048 kB pages: /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 0 -> 512\n"
                "governor: cpu0 governor schedutil -> performance\n"
                "governor: cpu1 governor schedutil -> performance\n"
                "governor: cpu2 governor schedutil -> performance\n"
                "isolation: init.scope AllowedCPUs all -> 2\n"
                "isolation: system.slice AllowedCPUs all -> 2\n"
                "isolation: user.slice AllowedCPUs all -> 2\n"
                "isolation: QEMU in vmlaunch-win10.scope under machine.slice, the only tasks left on the other CPUs\n"
                "units: stop display-manager.service\n"
                "vtconsoles: unbind vtcon1 ((M) frame buffer device)\n"
                "framebuffer: unbind efi-framebuffer.0 from efi-framebuffer: its memory e0000000-e07e8fff (efifb in /proc/iomem) is in BAR 1 of 0000:06:00.0\n"
                "modules: keep module snd_hda_intel loaded: driver snd_hda_intel also drives 0000:00:1f.3, outside the group (only the group's devices are unbound)\n"
                "modules: keep module xhci_pci loaded: driver xhci_hcd also drives 0000:00:14.0, outside the group (only the group's devices are unbound)\n"
                "modules: unload module nvidia_drm\n"
                "modules: unload module nvidia_modeset\n"
                "modules: unload module nvidia_uvm\n"
                "modules: unload module nvidia\n"
                "modules: unload module i2c_nvidia_gpu\n"
                "vfio: load module vfio_iommu_type1\n"
                "vfio: load module vfio_pci\n"
                "vfio: 0000:06:00.0 nvidia -> vfio-pci\n"
                "vfio: 0000:06:00.1 snd_hda_intel -> vfio-pci\n"
                "vfio: 0000:06:00.2 xhci_hcd -> vfio-pci\n"
                "vfio: 0000:06:00.3 nvidia-gpu -> vfio-pci\n"
                "gpu_health: after the VM, before any goes back to its driver: check that 0000:06:00.0,0000:06:00.1,0000:06:00.2,0000:06:00.3 still answer (config space, link); a GPU that does not stays on vfio-pci\n"
                "handover: hand /dev/vfio/14 ([gpu] address, its IOMMU group) to vmlaunch-qemu for the run, once vfio-pci made it\n"
                "handover: hand /dev/vfio/vfio ([gpu] address, the VFIO container) to vmlaunch-qemu for the run, once vfio made it, if its mode keeps it out\n"
                "handover: hand /var/lib/vmlaunch/win10/OVMF_VARS.fd ([firmware] vars) to vmlaunch-qemu for the run, once it exists\n");
}

static void test_plan_amd_2fn_simpledrm_unbinds_simple_framebuffer(void **state)
{
        (void)state;
        char *text = plan_of("amd-2fn-simpledrm", DEF_AMD);
        assert_non_null(strstr(
                text,
                "framebuffer: unbind simple-framebuffer.0 from simple-framebuffer: its memory d0000000-d02fffff (BOOTFB in /proc/iomem) is in BAR 0 of 0000:0c:00.0\n"));
        /* fbcon draws on simpledrm's fb0, whose memory is the AMD card's */
        assert_non_null(strstr(text, "vtconsoles: unbind vtcon1 ((M) frame buffer device)\n"));
        assert_null(strstr(text, "efi-framebuffer"));
        assert_non_null(strstr(text, "modules: unload module amdgpu\n"));
        assert_non_null(strstr(text, "vfio: 0000:0c:00.0 amdgpu -> vfio-pci\n"
                                     "vfio: 0000:0c:00.1 snd_hda_intel -> vfio-pci\n"));
        free(text);
}

static void test_plan_efifb_host_unbinds_efi_framebuffer(void **state)
{
        (void)state;
        char *text = plan_of("rtx2060-4fn", DEF_RTX2060);
        assert_non_null(strstr(
                text,
                "framebuffer: unbind efi-framebuffer.0 from efi-framebuffer: its memory e0000000-e07e8fff (efifb in /proc/iomem) is in BAR 1 of 0000:06:00.0\n"));
        assert_null(strstr(text, "simple-framebuffer"));
        free(text);
}

/* The host boots on its iGPU: simpledrm scans out of the iGPU's aperture, not the
 * RTX 2060's BARs, so the host keeps it, and keeps the console fbcon draws on it. */
static void test_plan_keeps_a_framebuffer_on_another_card(void **state)
{
        (void)state;
        char *text = plan_of("rtx2060-igpu-simpledrm", DEF_RTX2060);
        if (!strstr(text, "framebuffer: keep"))
                fprintf(stderr, "%s", text);
        assert_non_null(strstr(
                text,
                "vtconsoles: keep vtcon1 ((M) frame buffer device): fbcon draws on fb0 (simpledrm on another card)\n"));
        assert_null(strstr(text, "vtconsoles: unbind"));
        assert_non_null(strstr(
                text,
                "framebuffer: keep simple-framebuffer.0 on simple-framebuffer: its memory c0000000-c07e8fff (BOOTFB in /proc/iomem) is on another card, outside the BARs of 0000:06:00.0's IOMMU group\n"));
        assert_null(strstr(text, "framebuffer: unbind"));
        free(text);
}

/* The same iGPU host with fbcon moved to nvidia-drm's fb1 on the RTX 2060: by the
 * kernel command line, or as the boot VGA device's framebuffer (fbcon's primary). */
static void test_plan_unbinds_the_console_when_fbcon_draws_on_the_gpus_own_framebuffer(void **state)
{
        (void)state;
        const char *unbind = "vtconsoles: unbind vtcon1 ((M) frame buffer device)\n";
        char *text = plan_of_changed("rtx2060-igpu-simpledrm", DEF_RTX2060, "root/proc/cmdline",
                                     "BOOT_IMAGE=/vmlinuz root=/dev/nvme0n1p2 fbcon=map:1\n");
        assert_non_null(strstr(text, unbind));
        assert_non_null(strstr(text, "framebuffer: keep simple-framebuffer.0")); /* still */
        free(text);
        text = plan_of_changed("rtx2060-igpu-simpledrm", DEF_RTX2060,
                               "root/sys/bus/pci/devices/0000:06:00.0/boot_vga", "1\n");
        assert_non_null(strstr(text, unbind));
        free(text);
        /* a map that keeps the consoles on fb0 */
        text = plan_of_changed("rtx2060-igpu-simpledrm", DEF_RTX2060, "root/proc/cmdline",
                               "quiet fbcon=font:VGA8x16,map:0\n");
        assert_non_null(strstr(text, "vtconsoles: keep vtcon1"));
        free(text);
}

/* Without /proc/iomem (or BARs) nobody can tell where the framebuffer is: unbind it,
 * since one left on the GPU's BARs keeps vfio-pci from claiming them. */
static void test_plan_unbinds_a_framebuffer_whose_memory_is_unknown_and_says_why(void **state)
{
        (void)state;
        char *text = plan_of("sata-in-group", DEF_RTX2060);
        assert_non_null(strstr(
                text,
                "framebuffer: unbind efi-framebuffer.0 from efi-framebuffer: /proc/iomem does not show where its memory is, so it may be on the GPU\n"));
        free(text);
}

static void test_plan_sata_in_group_says_it_will_fail_naming_the_controller(void **state)
{
        (void)state;
        char *text = plan_of("sata-in-group", DEF_RTX2060);
        assert_non_null(strstr(
                text,
                "checks: will fail: 0000:06:00.2 (SATA controller, class 0x0106) is in the GPU's IOMMU group 14; the host needs it"));
        free(text);
}

static void test_plan_with_host_actions_off_lists_no_host_changes(void **state)
{
        (void)state;
        char *text =
                plan_of("rtx2060-4fn", "[vm]\nname = win10\n[memory]\nsize = 1G\n"
                                       "[gpu]\naddress = 06:00.0\n"
                                       "[host]\nstop_units =\nvtconsoles = off\nframebuffer = off\n"
                                       "unload_modules = off\ngovernor = off\n");
        assert_null(strstr(text, "units:"));
        assert_null(strstr(text, "vtconsoles:"));
        assert_null(strstr(text, "framebuffer:"));
        assert_null(strstr(text, "modules:"));
        assert_null(strstr(text, "governor:"));
        assert_null(strstr(text, "hugepages:"));
        assert_non_null(strstr(text, "vfio: 0000:06:00.0 nvidia -> vfio-pci\n"));
        free(text);
}

static void test_check_lists_every_problem_without_changing_anything(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "sata-in-group", DEF_RTX2060);
        char *before = fixture_snapshot(&f);
        fixture_write_tmp(&f, "root/proc/meminfo", "MemAvailable: 1000 kB\n");
        struct hostprep_report report;
        struct vl_error err = {0};
        assert_true(hostprep_check(f.def, &f.opts, &report, &err) < 0);
        assert_int_equal(report.n_failures, 2);
        assert_non_null(strstr(report.failures[0], "0000:06:00.2 (SATA controller"));
        assert_non_null(
                strstr(report.failures[1], "hugepages: the VM needs 512 more 2048 kB pages"));
        hostprep_report_free(&report);
        fixture_write_tmp(&f, "root/proc/meminfo", "MemAvailable:   24000000 kB\n");
        char *after = fixture_snapshot(&f);
        assert_string_equal(before, after);
        free(before);
        free(after);
        fixture_teardown(&f);
}

/* QEMU gets the group's endpoints, the [gpu] address first; the root port stays. */
static void test_gpu_group_lists_endpoints_without_the_bridge_gpu_first(void **state)
{
        (void)state;
        struct fixture f;
        fixture_setup(&f, "rtx2060-4fn", DEF_RTX2060);
        struct vmdef_pci_addr *members = NULL;
        size_t n = 0;
        struct vl_error err = {0};
        assert_int_equal(hostprep_gpu_group(f.def, &members, &n, &err), 0);
        assert_int_equal(n, 4);
        const char *expected[] = {"0000:06:00.0", "0000:06:00.1", "0000:06:00.2", "0000:06:00.3"};
        for (size_t i = 0; i < n; i++) {
                char addr[16];
                vmdef_pci_addr_format(&members[i], addr);
                assert_string_equal(addr, expected[i]);
        }
        free(members);

        f.def->gpu_address.slot = 7; /* a card that is not in this machine */
        assert_int_equal(hostprep_gpu_group(f.def, &members, &n, &err), -ENOENT);
        assert_null(members);
        assert_non_null(strstr(err.msg, "0000:06:07.0"));
        fixture_teardown(&f);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(
                        test_plan_rtx2060_4fn_unloads_nvidia_stack_and_binds_four_functions),
                cmocka_unit_test(test_gpu_group_lists_endpoints_without_the_bridge_gpu_first),
                cmocka_unit_test(test_plan_amd_2fn_simpledrm_unbinds_simple_framebuffer),
                cmocka_unit_test(test_plan_efifb_host_unbinds_efi_framebuffer),
                cmocka_unit_test(test_plan_keeps_a_framebuffer_on_another_card),
                cmocka_unit_test(
                        test_plan_unbinds_the_console_when_fbcon_draws_on_the_gpus_own_framebuffer),
                cmocka_unit_test(
                        test_plan_unbinds_a_framebuffer_whose_memory_is_unknown_and_says_why),
                cmocka_unit_test(test_plan_sata_in_group_says_it_will_fail_naming_the_controller),
                cmocka_unit_test(test_plan_with_host_actions_off_lists_no_host_changes),
                cmocka_unit_test(test_check_lists_every_problem_without_changing_anything),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
