/* User values with commas, spaces, quotes, '=' and newlines reach QEMU as one
 * value each: a comma can never start a new option. */
#include "argv_helpers.h"

/* Commas, a space, both quotes, '=' and a newline: everything that has bitten someone. */
#define NASTY         "/srv/a b,readonly=on,'q\"=x\ny"
#define NASTY_ESCAPED "/srv/a b,,readonly=on,,'q\"=x\ny"

static void test_disk_path_with_a_comma_stays_one_value(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {
                .id = "os", .path = "/x,readonly=off", .aio = VMDEF_AIO_THREADS, .readonly = true};
        def.firmware = VMDEF_FIRMWARE_BIOS;
        def.disks = &disk;
        def.n_disks = 1;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        const char *storage = flag_value(&argv, "-blockdev", "", 0);
        assert_string_equal(
                storage,
                "driver=file,filename=/x,,readonly=off,node-name=disk-os-storage,aio=threads,cache.direct=on,cache.no-flush=off,discard=unmap,read-only=on");
        /* what QEMU sees: the whole path as filename, and only our read-only */
        assert_string_equal(opt_get(storage, "filename"), "/x,readonly=off");
        assert_int_equal(opt_key_count(storage, "readonly"), 0);
        assert_int_equal(opt_key_count(storage, "read-only"), 1);
        assert_string_equal(opt_get(storage, "read-only"), "on");
        vl_strv_free(&argv);
}

static void test_disk_path_and_serial_with_every_special_character(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {
                .id = "os", .path = NASTY, .serial = "a,b=c", .aio = VMDEF_AIO_THREADS};
        def.disks = &disk;
        def.n_disks = 1;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        const char *storage = flag_value(&argv, "-blockdev", "driver=file,filename=/srv", 0);
        assert_non_null(strstr(storage, "filename=" NASTY_ESCAPED ",node-name="));
        assert_string_equal(opt_get(storage, "filename"), NASTY);
        const char *device = flag_value(&argv, "-device", "virtio-blk-pci", 0);
        assert_string_equal(opt_get(device, "serial"), "a,b=c");
        assert_int_equal(opt_key_count(device, "b"), 0);
        vl_strv_free(&argv);
}

static void test_romfile_with_a_comma_stays_one_value(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.has_gpu = true;
        def.gpu_romfile = "/roms/gpu,x-vga=on.rom";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        const char *gpu = flag_value(&argv, "-device", "vfio-pci", 0);
        assert_string_equal(
                gpu,
                "vfio-pci,host=0000:00:00.0,id=gpu0,bus=gpu-port,addr=0x0,romfile=/roms/gpu,,x-vga=on.rom");
        assert_int_equal(opt_key_count(gpu, "x-vga"), 0);
        vl_strv_free(&argv);
}

static void test_ovmf_paths_with_commas_stay_one_value(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.ovmf_code = "/fw/code,read-only=off.fd";
        def.ovmf_vars = NASTY;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        const char *code = flag_value(&argv, "-blockdev", "", 0);
        assert_string_equal(
                code,
                "driver=file,filename=/fw/code,,read-only=off.fd,node-name=ovmf-code-file,read-only=on");
        assert_int_equal(opt_key_count(code, "read-only"), 1);
        assert_string_equal(opt_get(flag_value(&argv, "-blockdev", "", 2), "filename"), NASTY);
        vl_strv_free(&argv);
}

static void test_name_with_a_comma_stays_one_value(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.name = "win,debug-threads=off";
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        const char *name = flag_value(&argv, "-name", "", 0);
        assert_string_equal(name, "guest=win,,debug-threads=off,debug-threads=on");
        assert_string_equal(opt_get(name, "guest"), "win,debug-threads=off");
        assert_string_equal(opt_get(name, "debug-threads"), "on");
        vl_strv_free(&argv);
}

static void test_kernel_initrd_and_cmdline_are_passed_verbatim(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.kernel = "/boot/vm linuz,x";
        def.initrd = "/boot/'initrd'";
        def.cmdline = "root=/dev/vda1 console=ttyS0,115200 x=\"a b\"\nnext";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        /* separate arguments QEMU does not split: escaping them would corrupt them */
        assert_string_equal(flag_value(&argv, "-kernel", "", 0), "/boot/vm linuz,x");
        assert_string_equal(flag_value(&argv, "-initrd", "", 0), "/boot/'initrd'");
        assert_string_equal(flag_value(&argv, "-append", "", 0),
                            "root=/dev/vda1 console=ttyS0,115200 x=\"a b\"\nnext");
        vl_strv_free(&argv);
}

static void test_evdev_path_and_grab_toggle_with_commas_stay_one_value(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_evdev ev = {.id = "kbd",
                                 .path = "/dev/input/by-id/x,grab_all=on",
                                 .grab_toggle = "ctrl-ctrl,repeat=on"};
        def.evdev = &ev;
        def.n_evdev = 1;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        const char *obj = flag_value(&argv, "-object", "input-linux", 0);
        assert_string_equal(
                obj,
                "input-linux,id=evdev-kbd,evdev=/dev/input/by-id/x,,grab_all=on,grab-toggle=ctrl-ctrl,,repeat=on");
        assert_int_equal(opt_key_count(obj, "grab_all"), 0);
        assert_int_equal(opt_key_count(obj, "repeat"), 0);
        vl_strv_free(&argv);
}

static void test_serial_path_and_mac_with_commas_stay_one_value(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_net net = {.id = "lan",
                                .mode = VMDEF_NET_BRIDGE,
                                .bridge = "br0,helper=/x",
                                .mac = "52:54:00:00:00:01,romfile=/y"};
        def.nets = &net;
        def.n_nets = 1;
        def.serial = "/var/log/a,b.log";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        /* The bridge itself is vmlaunch's business: QEMU only gets the tap. */
        assert_string_equal(flag_value(&argv, "-netdev", "", 0),
                            "tap,id=net-lan,fd=7,vhost=on,vhostfd=8");
        const char *dev = flag_value(&argv, "-device", "virtio-net-pci", 0);
        assert_int_equal(opt_key_count(dev, "romfile"), 0);
        assert_string_equal(opt_get(dev, "mac"), "52:54:00:00:00:01,romfile=/y");
        assert_string_equal(flag_value(&argv, "-chardev", "file", 0),
                            "file,id=serial0,path=/var/log/a,,b.log");
        vl_strv_free(&argv);
}

static void test_hyperv_vendor_id_with_a_comma_is_refused(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.hyperv = (struct vmdef_hyperv){.enabled = true, .vendor_id = "ab,kvm=on"};
        /* -cpu splits on every comma and has no escape: the only safe answer is no */
        assert_non_null(strstr(build_fails(&def, NULL), "[hyperv] vendor_id"));
}

static void test_machine_or_cpu_model_with_a_comma_is_refused(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.machine = "q35,accel=tcg";
        assert_non_null(strstr(build_fails(&def, NULL), "[qemu] machine"));
        def = test_def();
        def.cpu_model = "host,kvm=on";
        assert_non_null(strstr(build_fails(&def, NULL), "[cpu] model"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_disk_path_with_a_comma_stays_one_value),
                cmocka_unit_test(test_disk_path_and_serial_with_every_special_character),
                cmocka_unit_test(test_romfile_with_a_comma_stays_one_value),
                cmocka_unit_test(test_ovmf_paths_with_commas_stay_one_value),
                cmocka_unit_test(test_name_with_a_comma_stays_one_value),
                cmocka_unit_test(test_kernel_initrd_and_cmdline_are_passed_verbatim),
                cmocka_unit_test(test_evdev_path_and_grab_toggle_with_commas_stay_one_value),
                cmocka_unit_test(test_serial_path_and_mac_with_commas_stay_one_value),
                cmocka_unit_test(test_hyperv_vendor_id_with_a_comma_is_refused),
                cmocka_unit_test(test_machine_or_cpu_model_with_a_comma_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
