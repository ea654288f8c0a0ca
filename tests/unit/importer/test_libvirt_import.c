/* importer_libvirt_domain and friends: what a libvirt domain becomes, what is refused,
 * and that nothing is dropped without a "# not imported:" line. Each import is read
 * back with vmdef_parse_string, the parser every verb uses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "importer/importer.h"
#include "vmdefs/vmdef.h"

#ifndef FIXTURES
#error FIXTURES must name tests/fixtures
#endif

static char *read_fixture(const char *rel, size_t *len)
{
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", FIXTURES, rel);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        char *buf = malloc(1 << 20);
        assert_non_null(buf);
        *len = fread(buf, 1, (1 << 20) - 1, f);
        buf[*len] = '\0';
        fclose(f);
        return buf;
}

/* The host of these tests: 06:00.0 is a VGA controller, 06:00.1 its HDMI audio,
 * 07:00.0 a USB controller; nothing else exists. */
static int fake_pci_class(const char *addr, unsigned *cls, void *userdata)
{
        (void)userdata;
        if (!strcmp(addr, "0000:06:00.0"))
                *cls = 0x030000;
        else if (!strcmp(addr, "0000:06:00.1"))
                *cls = 0x040300;
        else if (!strcmp(addr, "0000:07:00.0"))
                *cls = 0x0c0330;
        else
                return -ENOENT;
        return 0;
}

static int import_text(const char *xml, struct importer_result *res, struct vl_error *err)
{
        struct importer_options opts = {.pci_class = fake_pci_class};
        return importer_libvirt_domain(xml, strlen(xml), &opts, res, err);
}

/* Parses the import as a definition named NAME.ini; fails the test on any error. */
static struct vm_def *parse_import(const struct importer_result *res)
{
        char path[128];
        snprintf(path, sizeof(path), "/etc/vmlaunch/%s.ini", res->name);
        struct vm_def *def = NULL;
        struct vmdef_diags diags = {0};
        int r = vmdef_parse_string(path, res->ini, strlen(res->ini), &def, &diags);
        for (size_t i = 0; i < diags.count; i++) {
                char line[800];
                vmdef_diag_format(&diags.items[i], path, line, sizeof(line));
                print_message("%s\n", line);
        }
        if (r != 0)
                print_message("--- import:\n%s\n", res->ini);
        assert_int_equal(r, 0);
        assert_int_equal(diags.n_errors, 0);
        vmdef_diags_free(&diags);
        return def;
}

static bool has_line(const char *text, const char *line)
{
        size_t n = strlen(line);
        for (const char *p = text; (p = strstr(p, line)); p += n)
                if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

static void assert_line(const char *text, const char *line)
{
        if (!has_line(text, line))
                print_message("missing line '%s' in:\n%s\n", line, text);
        assert_true(has_line(text, line));
}

/* A "# not imported: ELEMENT..." line in the text and its warning. */
static void assert_not_imported(const struct importer_result *res, const char *element)
{
        char want[256];
        snprintf(want, sizeof(want), "# not imported: %s", element);
        if (!strstr(res->ini, want))
                print_message("no '%s' in:\n%s\n", want, res->ini);
        assert_non_null(strstr(res->ini, want));
        bool warned = false;
        for (size_t i = 0; i < res->warnings.count; i++)
                warned = warned || strstr(res->warnings.items[i], want + 2);
        assert_true(warned);
}

static void test_malformed_xml_is_refused_naming_the_line(void **state)
{
        (void)state;
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(
                import_text("<domain type='kvm'>\n<name>x</name>\n<vcpu>2</cpu>\n</domain>\n", &res,
                            &err),
                -EBADMSG);
        assert_non_null(strstr(err.msg, "not well-formed XML, line 3"));
        assert_null(res.ini);
}

static void test_xml_that_is_not_a_domain_is_refused(void **state)
{
        (void)state;
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(import_text("<network><name>default</name></network>", &res, &err),
                         -EBADMSG);
        assert_non_null(strstr(err.msg, "<network>, not a libvirt <domain>"));
        assert_int_equal(import_text("", &res, &err), -EBADMSG);
}

/* The billion laughs and an external entity: refused before libxml2 sees a DTD. */
static void test_doctype_and_entities_are_refused(void **state)
{
        (void)state;
        static const char laughs[] =
                "<?xml version='1.0'?>\n"
                "<!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;'>"
                "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;'>]>\n"
                "<domain type='kvm'><name>&c;</name></domain>";
        static const char external[] = "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/shadow'>]>"
                                       "<domain><name>&x;</name></domain>";
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(import_text(laughs, &res, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "DOCTYPE"));
        assert_int_equal(import_text(external, &res, &err), -EBADMSG);
        /* An undeclared entity is not expanded either: not well-formed. */
        assert_int_equal(import_text("<domain><name>&x;</name></domain>", &res, &err), -EBADMSG);
}

static void test_input_over_the_size_limit_is_refused(void **state)
{
        (void)state;
        size_t len = IMPORTER_XML_MAX_BYTES + 1;
        char *big = malloc(len);
        assert_non_null(big);
        memset(big, ' ', len);
        memcpy(big, "<domain>", 8);
        struct importer_options opts = {0};
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(importer_libvirt_domain(big, len, &opts, &res, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "at most"));
        free(big);
}

static void test_domain_without_gpu_imports_without_gpu_or_host_changes(void **state)
{
        (void)state;
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(import_text("<domain type='qemu'><name>plain</name>"
                                     "<memory unit='MiB'>512</memory><vcpu>2</vcpu>"
                                     "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
                                     "</domain>",
                                     &res, &err),
                         0);
        assert_false(res.has_gpu);
        assert_null(strstr(res.ini, "[gpu]"));
        struct vm_def *def = parse_import(&res);
        assert_false(def->has_gpu);
        assert_int_equal(def->memory_bytes, 512ull << 20);
        assert_int_equal(def->sockets * def->dies * def->cores * def->threads, 2);
        assert_string_equal(def->cpu_model, "qemu64");
        assert_false(def->hyperv.enabled);
        vmdef_free(def);
        importer_result_free(&res);
}

/* The GPU is the display-class device; the functions of its slot are its group;
 * a device of another slot (a USB controller) cannot go with it and is named. */
static void test_gpu_found_by_its_class_and_other_devices_named(void **state)
{
        (void)state;
        static const char xml[] =
                "<domain type='kvm'><name>g</name><memory unit='GiB'>4</memory><vcpu>2</vcpu>"
                "<devices>"
                "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' "
                "bus='0x07' slot='0x00' function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' "
                "bus='0x06' slot='0x00' function='0x1'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci'><source><address domain='0x0000' "
                "bus='0x06' slot='0x00' function='0x0'/></source>"
                "<rom file='/var/lib/vbios.rom'/></hostdev>"
                "</devices></domain>";
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(import_text(xml, &res, &err), 0);
        assert_true(res.has_gpu);
        assert_line(res.ini, "address = 0000:06:00.0");
        assert_line(res.ini, "romfile = /var/lib/vbios.rom");
        assert_line(res.ini, "group = 0000:06:00.1, 0000:06:00.0");
        assert_not_imported(&res, "devices/hostdev type='pci': 0000:07:00.0 is outside");
        struct vm_def *def = parse_import(&res);
        assert_true(def->has_gpu);
        assert_int_equal(def->n_gpu_group, 2);
        vmdef_free(def);
        importer_result_free(&res);
}

/* Features vmlaunch lacks: each one named, and the rest still a valid definition. */
static void test_features_vmlaunch_lacks_are_each_named(void **state)
{
        (void)state;
        static const char xml[] =
                "<domain type='kvm'><name>lacks</name><memory unit='GiB'>4</memory>"
                "<vcpu placement='static' current='2'>4</vcpu>"
                "<cputune><shares>2048</shares><vcpusched vcpus='0' scheduler='fifo' "
                "priority='1'/></cputune>"
                "<blkiotune><weight>800</weight></blkiotune>"
                "<features><hyperv><relaxed state='on'/><vendor_id state='on' value='KVM Hv'/>"
                "</hyperv><kvm><hint-dedicated state='on'/></kvm></features>"
                "<cpu mode='custom'><model>Skylake-Client</model><numa><cell id='0' cpus='0-3' "
                "memory='4' unit='GiB'/></numa><feature policy='optional' name='vmx'/></cpu>"
                "<devices>"
                "<disk type='network' device='disk'><source protocol='rbd' name='pool/img'/>"
                "<target dev='vda' bus='virtio'/></disk>"
                "<disk type='file' device='floppy'><source file='/tmp/f.img'/>"
                "<target dev='fda' bus='fdc'/></disk>"
                "<interface type='direct'><source dev='eth0' mode='bridge'/></interface>"
                "<graphics type='spice' autoport='yes'/>"
                "<sound model='ich9'/>"
                "<shmem name='looking-glass'><size unit='M'>32</size></shmem>"
                "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
                "<watchdog model='itco' action='reset'/>"
                "</devices></domain>";
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(import_text(xml, &res, &err), 0);
        assert_not_imported(&res, "vcpu current");
        assert_not_imported(&res, "cputune/shares");
        assert_not_imported(&res, "cputune/vcpusched");
        assert_not_imported(&res, "blkiotune");
        assert_not_imported(&res, "hyperv/vendor_id: 'KVM Hv'");
        assert_not_imported(&res, "features/kvm/hint-dedicated");
        assert_not_imported(&res, "cpu/numa");
        assert_not_imported(&res, "cpu/feature name='vmx'");
        assert_not_imported(&res, "devices/disk vda: type 'network'");
        assert_not_imported(&res, "devices/disk fda: device 'floppy'");
        assert_not_imported(&res, "devices/interface type='direct'");
        assert_not_imported(&res, "devices/graphics type='spice'");
        assert_not_imported(&res, "devices/sound");
        assert_not_imported(&res, "devices/shmem");
        assert_not_imported(&res, "devices/rng");
        assert_not_imported(&res, "devices/watchdog");
        assert_line(res.ini, "model = Skylake-Client");
        struct vm_def *def = parse_import(&res);
        assert_true(def->hyperv.enabled);
        assert_true(def->hyperv.relaxed);
        assert_null(def->hyperv.vendor_id);
        assert_int_equal(def->n_disks, 0);
        vmdef_free(def);
        importer_result_free(&res);
}

/* The guide's Windows domain: everything it says that vmlaunch has, key by key. */
static void test_guide_domain_maps_key_by_key(void **state)
{
        (void)state;
        size_t len;
        char *xml = read_fixture("import/win10-guide.xml", &len);
        struct importer_options opts = {.pci_class = fake_pci_class};
        struct importer_result res;
        struct vl_error err = {0};
        assert_int_equal(importer_libvirt_domain(xml, len, &opts, &res, &err), 0);
        assert_string_equal(res.name, "win10");
        struct vm_def *def = parse_import(&res);
        assert_int_equal(def->memory_bytes, 12ull << 30);
        assert_int_equal(def->hugepage_bytes, 2ull << 20);
        assert_string_equal(def->cpu_model, "host");
        assert_int_equal(def->sockets, 1);
        assert_int_equal(def->cores, 4);
        assert_int_equal(def->threads, 2);
        assert_true(def->topoext);
        assert_true(def->cache_passthrough);
        assert_true(def->kvm_hidden);
        assert_string_equal(def->cpu_flags, "-hypervisor");
        static const unsigned pins[] = {2, 8, 3, 9, 4, 10, 5, 11};
        assert_int_equal(def->vcpu_pin.count, 8);
        for (size_t i = 0; i < 8; i++)
                assert_int_equal(def->vcpu_pin.cpus[i], pins[i]);
        assert_int_equal(def->emulator_pin.count, 2);
        assert_int_equal(def->n_iothreads, 1);
        assert_string_equal(def->iothreads[0].id, "iothread1");
        assert_int_equal(def->iothreads[0].pin.count, 2);
        assert_true(def->hyperv.enabled && def->hyperv.time && def->hyperv.stimer);
        assert_false(def->hyperv.evmcs);
        assert_int_equal(def->hyperv.spinlocks, 8191);
        assert_string_equal(def->hyperv.vendor_id, "whatever");
        assert_string_equal(def->ovmf_code, "/usr/share/OVMF/OVMF_CODE_4M.fd");
        assert_string_equal(def->ovmf_vars, "/var/lib/libvirt/qemu/nvram/win10_VARS.fd");
        assert_int_equal(def->n_disks, 2);
        assert_string_equal(def->disks[0].id, "vda");
        assert_string_equal(def->disks[0].iothread, "iothread1");
        assert_int_equal(def->disks[0].boot, 1);
        assert_true(def->has_gpu);
        assert_int_equal(def->n_gpu_group, 2);
        assert_string_equal(def->gpu_romfile, "/var/lib/libvirt/vbios/patched.rom");
        assert_int_equal(def->n_usb, 1);
        assert_int_equal(def->n_evdev, 2);
        assert_int_equal(def->n_nets, 1);
        assert_int_equal(def->n_extra_args, 4); /* -uuid U -global ICH9-LPC... */
        assert_not_imported(&res, "devices/sound");
        assert_not_imported(&res, "features/vmport");
        vmdef_free(def);
        importer_result_free(&res);
        free(xml);
}

static void test_cpuset_to_cpulist(void **state)
{
        (void)state;
        char buf[64];
        assert_int_equal(importer_cpuset_to_cpulist("1-3,^2,8", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1,3,8");
        assert_int_equal(importer_cpuset_to_cpulist("6,0", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "0,6");
        assert_int_equal(importer_cpuset_to_cpulist("0-3,4-7", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "0-7");
        assert_int_equal(importer_cpuset_to_cpulist("^2", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(importer_cpuset_to_cpulist("3-1", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(importer_cpuset_to_cpulist("1024", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(importer_cpuset_to_cpulist("a", buf, sizeof(buf)), -EINVAL);
}

/* The guide's start.sh: what vmlaunch does itself, and the user's own line. */
static void test_hook_script_lines_are_sorted_into_done_and_remaining(void **state)
{
        (void)state;
        static const char script[] = "#!/bin/bash\n"
                                     "set -x\n"
                                     "systemctl stop display-manager\n"
                                     "echo 0 > /sys/class/vtconsole/vtcon0/bind\n"
                                     "echo efi-framebuffer.0 > "
                                     "/sys/bus/platform/drivers/efi-framebuffer/unbind\n"
                                     "sleep 5\n"
                                     "modprobe -r nvidia_drm nvidia_modeset nvidia\n"
                                     "virsh nodedev-detach pci_0000_06_00_0\n"
                                     "modprobe vfio-pci\n"
                                     "cpupower frequency-set -g performance\n"
                                     "notify-send 'VM starting'\n";
        struct importer_hook_report rep = {0};
        assert_int_equal(importer_hook_classify(script, &rep), 0);
        assert_int_equal(rep.done.count, 8);
        assert_int_equal(rep.remain.count, 1);
        assert_string_equal(rep.remain.items[0], "line 11: notify-send 'VM starting'");
        assert_non_null(strstr(rep.done.items[0], "line 3: systemctl stop display-manager"));
        assert_non_null(strstr(rep.done.items[3], "fixed sleep"));
        importer_hook_report_free(&rep);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_malformed_xml_is_refused_naming_the_line),
                cmocka_unit_test(test_xml_that_is_not_a_domain_is_refused),
                cmocka_unit_test(test_doctype_and_entities_are_refused),
                cmocka_unit_test(test_input_over_the_size_limit_is_refused),
                cmocka_unit_test(test_domain_without_gpu_imports_without_gpu_or_host_changes),
                cmocka_unit_test(test_gpu_found_by_its_class_and_other_devices_named),
                cmocka_unit_test(test_features_vmlaunch_lacks_are_each_named),
                cmocka_unit_test(test_guide_domain_maps_key_by_key),
                cmocka_unit_test(test_cpuset_to_cpulist),
                cmocka_unit_test(test_hook_script_lines_are_sorted_into_done_and_remaining),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
