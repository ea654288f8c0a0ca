/* qemu_argv_build, one device family at a time, on hand-built definitions. */
#include "argv_helpers.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_argv_starts_paused_without_defaults_or_user_config(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(argv.items[0], "qemu-system-x86_64");
        assert_string_equal(flag_value(&argv, "-name", "", 0), "guest=t,debug-threads=on");
        assert_true(index_of(&argv, "-S") > 0);
        assert_true(index_of(&argv, "-nodefaults") > 0);
        assert_true(index_of(&argv, "-no-user-config") > 0);
        assert_string_equal(flag_value(&argv, "-overcommit", "", 0), "mem-lock=off");
        vl_strv_free(&argv);
}

static void test_argv_takes_both_qmp_sockets_as_listening_descriptors(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-chardev", "socket,id=qmp", 0),
                            "socket,id=qmp,fd=3,server=on,wait=off");
        assert_string_equal(flag_value(&argv, "-chardev", "socket,id=ctl", 0),
                            "socket,id=ctl,fd=4,server=on,wait=off");
        assert_string_equal(flag_value(&argv, "-mon", "", 0), "chardev=qmp,mode=control");
        assert_string_equal(flag_value(&argv, "-mon", "", 1), "chardev=ctl,mode=control");
        vl_strv_free(&argv);
}

static void test_argv_has_the_seccomp_sandbox_unless_turned_off(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.qemu_sandbox = true;
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(
                flag_value(&argv, "-sandbox", "", 0),
                "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
        vl_strv_free(&argv);
        def.qemu_sandbox = false;
        build_ok(&def, &opts, &argv);
        assert_int_equal(index_of(&argv, "-sandbox"), -1);
        vl_strv_free(&argv);
}

static void test_memory_without_hugepages_uses_a_ram_backend(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.prealloc = false;
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-m", "", 0), "1G");
        assert_string_equal(flag_value(&argv, "-object", "memory-backend", 0),
                            "memory-backend-ram,id=mem,size=1G");
        assert_non_null(strstr(flag_value(&argv, "-machine", "", 0), ",memory-backend=mem"));
        vl_strv_free(&argv);
}

static void test_memory_on_2M_hugepages_is_a_hugetlb_memfd_preallocated(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.memory_bytes = 12ULL << 30;
        def.hugepage_bytes = 2ULL << 20;
        def.prealloc_threads = 4;
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-m", "", 0), "12G");
        assert_string_equal(
                flag_value(&argv, "-object", "memory-backend", 0),
                "memory-backend-memfd,id=mem,size=12G,hugetlb=on,hugetlbsize=2M,share=on,prealloc=on,prealloc-threads=4");
        vl_strv_free(&argv);
}

static void test_memory_on_1G_hugepages_names_the_page_size(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.memory_bytes = 16ULL << 30;
        def.hugepage_bytes = 1ULL << 30;
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(
                flag_value(&argv, "-object", "memory-backend", 0),
                "memory-backend-memfd,id=mem,size=16G,hugetlb=on,hugetlbsize=1G,share=on,prealloc=on");
        vl_strv_free(&argv);
}

static void test_memory_is_bound_to_the_vcpus_numa_node(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.memory_bytes = 16ULL << 30;
        def.hugepage_bytes = 1ULL << 30;
        struct qemu_argv_opts opts = test_opts();
        opts.bind_numa_node = true;
        opts.numa_node = 1;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(
                flag_value(&argv, "-object", "memory-backend", 0),
                "memory-backend-memfd,id=mem,size=16G,hugetlb=on,hugetlbsize=1G,share=on,host-nodes=1,policy=bind,prealloc=on");
        vl_strv_free(&argv);
}

static void test_memory_size_that_is_not_whole_gigabytes_is_written_in_megabytes(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.memory_bytes = 1536ULL << 20;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-m", "", 0), "1536M");
        vl_strv_free(&argv);
}

static void test_smp_gives_the_count_and_the_whole_topology(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.cores = 4;
        def.threads = 2;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-smp", "", 0),
                            "8,sockets=1,dies=1,cores=4,threads=2");
        vl_strv_free(&argv);
}

static void test_each_iothread_is_one_object(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_iothread io[] = {{.id = "io1"}, {.id = "io2"}};
        def.iothreads = io;
        def.n_iothreads = 2;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_int_equal(count_values(&argv, "-object", "iothread,"), 2);
        assert_string_equal(flag_value(&argv, "-object", "iothread,", 0), "iothread,id=io1");
        assert_string_equal(flag_value(&argv, "-object", "iothread,", 1), "iothread,id=io2");
        vl_strv_free(&argv);
}

static struct vm_def windows_def(void)
{
        struct vm_def def = test_def();
        def.topoext = true;
        def.cache_passthrough = true;
        def.kvm_hidden = true;
        def.hyperv = (struct vmdef_hyperv){
                .enabled = true,
                .time = true,
                .relaxed = true,
                .vapic = true,
                .spinlocks = 8191,
                .vpindex = true,
                .synic = true,
                .stimer = true,
                .reset = true,
                .vendor_id = "whatever",
                .frequencies = true,
        };
        return def;
}

static void test_cpu_host_passthrough_with_cache_topoext_hidden_kvm_and_hyperv(void **state)
{
        (void)state;
        struct vm_def def = windows_def();
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(
                flag_value(&argv, "-cpu", "", 0),
                "host,topoext=on,host-cache-info=on,kvm=off,hv-time=on,hv-relaxed=on,hv-vapic=on,hv-spinlocks=0x1fff,hv-vpindex=on,hv-synic=on,hv-stimer=on,hv-reset=on,hv-frequencies=on,hv-vendor-id=whatever");
        vl_strv_free(&argv);
}

static void test_cpu_newer_hyperv_flags_are_passed(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.hyperv = (struct vmdef_hyperv){
                .enabled = true,
                .runtime = true,
                .tlbflush = true,
                .ipi = true,
                .reenlightenment = true,
                .evmcs = true,
                .avic = true,
                .xmm_input = true,
                .tlbflush_ext = true,
                .tlbflush_direct = true,
                .emsr_bitmap = true,
                .stimer_direct = true,
        };
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        const char *cpu = flag_value(&argv, "-cpu", "", 0);
        const char *flags[] = {"hv-runtime",         "hv-tlbflush",     "hv-ipi",
                               "hv-reenlightenment", "hv-evmcs",        "hv-avic",
                               "hv-xmm-input",       "hv-tlbflush-ext", "hv-tlbflush-direct",
                               "hv-emsr-bitmap",     "hv-stimer-direct"};
        for (size_t i = 0; i < ARRAY_LEN(flags); i++)
                assert_string_equal(opt_get(cpu, flags[i]), "on");
        assert_null(opt_get(cpu, "hv-spinlocks"));
        vl_strv_free(&argv);
}

static void test_cpu_hyperv_flags_from_qemu_7_1_are_refused_on_qemu_7_0(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.hyperv = (struct vmdef_hyperv){.enabled = true, .emsr_bitmap = true};
        struct qemu_argv_opts opts = test_opts();
        opts.qemu_version = 70000;
        assert_non_null(strstr(build_fails(&def, &opts), "QEMU 7.1"));
        opts.qemu_version = 70200;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        vl_strv_free(&argv);
}

static void test_cpu_without_hyperv_has_no_hv_flags_and_utc_clock(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-cpu", "", 0), "host");
        assert_string_equal(flag_value(&argv, "-rtc", "", 0), "base=utc");
        assert_null(strstr(flag_value(&argv, "-machine", "", 0), "hpet"));
        vl_strv_free(&argv);
}

static void test_windows_guest_gets_localtime_slewed_rtc_and_no_hpet(void **state)
{
        (void)state;
        struct vm_def def = windows_def();
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-rtc", "", 0), "base=localtime,driftfix=slew");
        assert_string_equal(opt_get(flag_value(&argv, "-machine", "", 0), "hpet"), "off");
        vl_strv_free(&argv);
}

static void test_cpu_extra_flags_are_appended_as_written(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.cpu_flags = "+invtsc, -amd-stibp,,\tl3-cache=off";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-cpu", "", 0),
                            "host,+invtsc,-amd-stibp,l3-cache=off");
        vl_strv_free(&argv);
}

static void test_accel_kvm(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-accel", "", 0), "kvm");
        vl_strv_free(&argv);
}

static void test_accel_auto_in_opts_means_kvm(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        opts.accel = VMDEF_ACCEL_AUTO;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-accel", "", 0), "kvm");
        vl_strv_free(&argv);
}

static void test_accel_tcg_is_multithreaded_uses_max_and_drops_kvm_only_flags(void **state)
{
        (void)state;
        struct vm_def def = windows_def();
        struct qemu_argv_opts opts = test_opts();
        opts.accel = VMDEF_ACCEL_TCG;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-accel", "", 0), "tcg,thread=multi");
        /* TCG has no "host" model, no topoext, no Hyper-V, no KVM to hide */
        assert_string_equal(flag_value(&argv, "-cpu", "", 0), "max,host-cache-info=on");
        vl_strv_free(&argv);
}

static void test_accel_tcg_keeps_a_named_cpu_model(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.cpu_model = "Skylake-Client";
        struct qemu_argv_opts opts = test_opts();
        opts.accel = VMDEF_ACCEL_TCG;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-cpu", "", 0), "Skylake-Client");
        vl_strv_free(&argv);
}

static void test_uefi_firmware_is_two_pflash_blockdevs_code_read_only(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(
                flag_value(&argv, "-blockdev", "", 0),
                "driver=file,filename=/usr/share/OVMF/OVMF_CODE_4M.fd,node-name=ovmf-code-file,read-only=on");
        assert_string_equal(flag_value(&argv, "-blockdev", "", 1),
                            "driver=raw,file=ovmf-code-file,node-name=ovmf-code,read-only=on");
        assert_string_equal(
                flag_value(&argv, "-blockdev", "", 2),
                "driver=file,filename=/var/lib/vmlaunch/t_VARS.fd,node-name=ovmf-vars-file,read-only=off");
        assert_string_equal(flag_value(&argv, "-blockdev", "", 3),
                            "driver=raw,file=ovmf-vars-file,node-name=ovmf-vars,read-only=off");
        const char *machine = flag_value(&argv, "-machine", "", 0);
        assert_string_equal(opt_get(machine, "pflash0"), "ovmf-code");
        assert_string_equal(opt_get(machine, "pflash1"), "ovmf-vars");
        vl_strv_free(&argv);
}

static void test_bios_firmware_has_no_pflash(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.firmware = VMDEF_FIRMWARE_BIOS;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_int_equal(count_values(&argv, "-blockdev", ""), 0);
        assert_string_equal(flag_value(&argv, "-machine", "", 0),
                            "q35,usb=off,dump-guest-core=off,memory-backend=mem");
        vl_strv_free(&argv);
}

static void test_uefi_without_vars_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.ovmf_vars = NULL;
        assert_non_null(strstr(build_fails(&def, NULL), "[firmware]"));
}

static void test_direct_kernel_boot_passes_the_cmdline_whole(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.kernel = "/boot/vmlinuz";
        def.initrd = "/boot/initrd.img";
        def.cmdline = "console=ttyS0,115200 quiet";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-kernel", "", 0), "/boot/vmlinuz");
        assert_string_equal(flag_value(&argv, "-initrd", "", 0), "/boot/initrd.img");
        /* -append is not a key=value option: a comma is not doubled */
        assert_string_equal(flag_value(&argv, "-append", "", 0), "console=ttyS0,115200 quiet");
        vl_strv_free(&argv);
}

static void test_display_and_vga_default_to_none(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.display = NULL;
        def.vga = NULL;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-display", "", 0), "none");
        assert_string_equal(flag_value(&argv, "-vga", "", 0), "none");
        vl_strv_free(&argv);
}

static void test_display_gtk_and_std_vga_when_asked(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.display = "gtk";
        def.vga = "std";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-display", "", 0), "gtk");
        assert_string_equal(flag_value(&argv, "-vga", "", 0), "std");
        vl_strv_free(&argv);
}

static struct vmdef_pci_addr pci(unsigned bus, unsigned slot, unsigned function)
{
        return (struct vmdef_pci_addr){.bus = bus, .slot = slot, .function = function};
}

static void test_gpu_with_one_function_sits_alone_behind_a_root_port(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.has_gpu = true;
        def.gpu_address = pci(6, 0, 0);
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-device", "pcie-root-port", 0),
                            "pcie-root-port,id=gpu-port,chassis=1,port=0x10,bus=pcie.0,addr=0x2");
        assert_int_equal(count_values(&argv, "-device", "vfio-pci"), 1);
        assert_string_equal(flag_value(&argv, "-device", "vfio-pci", 0),
                            "vfio-pci,host=0000:06:00.0,id=gpu0,bus=gpu-port,addr=0x0");
        vl_strv_free(&argv);
}

static void test_gpu_with_two_functions_is_one_multifunction_slot(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_pci_addr group[] = {pci(6, 0, 0), pci(6, 0, 1)};
        def.has_gpu = true;
        def.gpu_address = pci(6, 0, 0);
        def.gpu_group = group;
        def.n_gpu_group = 2;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(
                flag_value(&argv, "-device", "vfio-pci", 0),
                "vfio-pci,host=0000:06:00.0,id=gpu0,bus=gpu-port,addr=0x0,multifunction=on");
        assert_string_equal(flag_value(&argv, "-device", "vfio-pci", 1),
                            "vfio-pci,host=0000:06:00.1,id=gpu1,bus=gpu-port,addr=0x0.0x1");
        vl_strv_free(&argv);
}

static void test_gpu_host_group_wins_and_romfile_goes_on_function_0(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_pci_addr written[] = {pci(6, 0, 0)};
        /* as the host reports it: not in function order */
        struct vmdef_pci_addr host[] = {pci(6, 0, 2), pci(6, 0, 0), pci(6, 0, 3), pci(6, 0, 1)};
        def.has_gpu = true;
        def.gpu_address = pci(6, 0, 0);
        def.gpu_group = written;
        def.n_gpu_group = 1;
        def.gpu_romfile = "/usr/share/vgabios/rtx2060.rom";
        struct qemu_argv_opts opts = test_opts();
        opts.gpu_group = host;
        opts.n_gpu_group = 4;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_int_equal(count_values(&argv, "-device", "vfio-pci"), 4);
        assert_string_equal(
                flag_value(&argv, "-device", "vfio-pci", 0),
                "vfio-pci,host=0000:06:00.0,id=gpu0,bus=gpu-port,addr=0x0,multifunction=on,romfile=/usr/share/vgabios/rtx2060.rom");
        assert_string_equal(flag_value(&argv, "-device", "vfio-pci", 1),
                            "vfio-pci,host=0000:06:00.2,id=gpu1,bus=gpu-port,addr=0x0.0x1");
        assert_string_equal(flag_value(&argv, "-device", "vfio-pci", 3),
                            "vfio-pci,host=0000:06:00.1,id=gpu3,bus=gpu-port,addr=0x0.0x3");
        for (unsigned i = 1; i < 4; i++)
                assert_null(opt_get(flag_value(&argv, "-device", "vfio-pci", i), "romfile"));
        vl_strv_free(&argv);
}

static void test_gpu_root_port_comes_before_any_other_pci_device(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {.id = "os", .path = "/x.qcow2", .aio = VMDEF_AIO_THREADS};
        struct vmdef_usb usb = {.id = "kbd", .vendor = 1, .product = 2};
        def.has_gpu = true;
        def.gpu_address = pci(6, 0, 0);
        def.disks = &disk;
        def.n_disks = 1;
        def.usb = &usb;
        def.n_usb = 1;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        ptrdiff_t first_device = index_of(&argv, "-device");
        assert_string_equal(argv.items[first_device + 1],
                            flag_value(&argv, "-device", "pcie-root-port", 0));
        vl_strv_free(&argv);
}

static void test_gpu_missing_from_its_group_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_pci_addr group[] = {pci(6, 0, 1)};
        def.has_gpu = true;
        def.gpu_address = pci(6, 0, 0);
        def.gpu_group = group;
        def.n_gpu_group = 1;
        assert_non_null(strstr(build_fails(&def, NULL), "0000:06:00.0"));
}

static void test_gpu_group_of_more_than_eight_devices_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_pci_addr group[9];
        for (unsigned i = 0; i < 9; i++)
                group[i] = pci(6, i, 0);
        def.has_gpu = true;
        def.gpu_address = pci(6, 0, 0);
        def.gpu_group = group;
        def.n_gpu_group = 9;
        assert_non_null(strstr(build_fails(&def, NULL), "at most 8"));
}

static void test_disk_qcow2_on_virtio_blk_with_iothread_and_boot_order(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_iothread io = {.id = "io1"};
        struct vmdef_disk disk = {
                .id = "os",
                .path = "/var/lib/libvirt/images/win10.qcow2",
                .format = VMDEF_FORMAT_QCOW2,
                .bus = VMDEF_BUS_VIRTIO_BLK,
                .iothread = "io1",
                .boot = 1,
                .cache = VMDEF_CACHE_NONE,
                .aio = VMDEF_AIO_NATIVE,
                .discard = VMDEF_DISCARD_UNMAP,
        };
        def.firmware = VMDEF_FIRMWARE_BIOS;
        def.iothreads = &io;
        def.n_iothreads = 1;
        def.disks = &disk;
        def.n_disks = 1;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(
                flag_value(&argv, "-blockdev", "", 0),
                "driver=file,filename=/var/lib/libvirt/images/win10.qcow2,node-name=disk-os-storage,aio=native,cache.direct=on,cache.no-flush=off,discard=unmap,read-only=off");
        assert_string_equal(
                flag_value(&argv, "-blockdev", "", 1),
                "driver=qcow2,file=disk-os-storage,node-name=disk-os,cache.direct=on,cache.no-flush=off,discard=unmap,read-only=off");
        assert_string_equal(
                flag_value(&argv, "-device", "virtio-blk-pci", 0),
                "virtio-blk-pci,iothread=io1,drive=disk-os,id=disk-os-dev,bootindex=1,write-cache=on");
        vl_strv_free(&argv);
}

static void test_disk_cache_modes_map_to_direct_no_flush_and_write_cache(void **state)
{
        (void)state;
        static const struct {
                enum vmdef_disk_cache cache;
                const char *direct, *no_flush, *write_cache;
        } cases[] = {
                {VMDEF_CACHE_NONE, "on", "off", "on"},
                {VMDEF_CACHE_WRITEBACK, "off", "off", "on"},
                {VMDEF_CACHE_WRITETHROUGH, "off", "off", "off"},
                {VMDEF_CACHE_DIRECTSYNC, "on", "off", "off"},
                {VMDEF_CACHE_UNSAFE, "off", "on", "on"},
        };
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                struct vm_def def = test_def();
                struct vmdef_disk disk = {.id = "d",
                                          .path = "/d.raw",
                                          .format = VMDEF_FORMAT_RAW,
                                          .cache = cases[i].cache,
                                          .aio = VMDEF_AIO_THREADS};
                def.firmware = VMDEF_FIRMWARE_BIOS;
                def.disks = &disk;
                def.n_disks = 1;
                struct vl_strv argv;
                build_ok(&def, NULL, &argv);
                for (unsigned node = 0; node < 2; node++) {
                        const char *bd = flag_value(&argv, "-blockdev", "", node);
                        assert_string_equal(opt_get(bd, "cache.direct"), cases[i].direct);
                        assert_string_equal(opt_get(bd, "cache.no-flush"), cases[i].no_flush);
                }
                assert_string_equal(opt_get(flag_value(&argv, "-blockdev", "", 1), "driver"),
                                    "raw");
                assert_string_equal(
                        opt_get(flag_value(&argv, "-device", "virtio-blk-pci", 0), "write-cache"),
                        cases[i].write_cache);
                vl_strv_free(&argv);
        }
}

static void test_disk_aio_native_without_direct_cache_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {.id = "d",
                                  .path = "/d.raw",
                                  .cache = VMDEF_CACHE_WRITEBACK,
                                  .aio = VMDEF_AIO_NATIVE};
        def.disks = &disk;
        def.n_disks = 1;
        assert_non_null(strstr(build_fails(&def, NULL), "[disk.d] aio = native"));
}

static void test_disk_block_device_uses_host_device_driver(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {.id = "d",
                                  .path = "/dev/disk/by-id/nvme-x",
                                  .format = VMDEF_FORMAT_RAW,
                                  .aio = VMDEF_AIO_IO_URING,
                                  .discard = VMDEF_DISCARD_IGNORE,
                                  .serial = "S1"};
        def.firmware = VMDEF_FIRMWARE_BIOS;
        def.disks = &disk;
        def.n_disks = 1;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        const char *storage = flag_value(&argv, "-blockdev", "", 0);
        assert_string_equal(opt_get(storage, "driver"), "host_device");
        assert_string_equal(opt_get(storage, "aio"), "io_uring");
        assert_string_equal(opt_get(storage, "discard"), "ignore");
        assert_string_equal(opt_get(flag_value(&argv, "-device", "virtio-blk-pci", 0), "serial"),
                            "S1");
        vl_strv_free(&argv);
}

static void test_disk_cdrom_on_sata_is_read_only_ide_cd(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disks[] = {
                {.id = "a",
                 .path = "/a.raw",
                 .format = VMDEF_FORMAT_RAW,
                 .bus = VMDEF_BUS_SATA,
                 .aio = VMDEF_AIO_THREADS},
                {.id = "iso",
                 .path = "/win.iso",
                 .format = VMDEF_FORMAT_RAW,
                 .bus = VMDEF_BUS_SATA,
                 .media = VMDEF_MEDIA_CDROM,
                 .boot = 2,
                 .aio = VMDEF_AIO_THREADS},
        };
        def.firmware = VMDEF_FIRMWARE_BIOS;
        def.disks = disks;
        def.n_disks = 2;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-device", "ide-hd", 0),
                            "ide-hd,bus=ide.0,drive=disk-a,id=disk-a-dev,write-cache=on");
        assert_string_equal(flag_value(&argv, "-device", "ide-cd", 0),
                            "ide-cd,bus=ide.1,drive=disk-iso,id=disk-iso-dev,bootindex=2");
        assert_string_equal(opt_get(flag_value(&argv, "-blockdev", "", 2), "read-only"), "on");
        assert_string_equal(opt_get(flag_value(&argv, "-blockdev", "", 3), "read-only"), "on");
        vl_strv_free(&argv);
}

static void test_disk_cdrom_on_virtio_blk_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {.id = "iso",
                                  .path = "/w.iso",
                                  .media = VMDEF_MEDIA_CDROM,
                                  .aio = VMDEF_AIO_THREADS};
        def.disks = &disk;
        def.n_disks = 1;
        assert_non_null(strstr(build_fails(&def, NULL), "[disk.iso] media = cdrom"));
}

/* QEMU refuses a read-only ide-hd ("Block node is read-only"), found by the
 * integration test every_device_reaches_qemu; a read-only ide-cd is fine. */
static void test_disk_readonly_on_sata_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {.id = "ro",
                                  .path = "/ro.raw",
                                  .bus = VMDEF_BUS_SATA,
                                  .readonly = true,
                                  .aio = VMDEF_AIO_THREADS};
        def.disks = &disk;
        def.n_disks = 1;
        assert_non_null(strstr(build_fails(&def, NULL), "[disk.ro] readonly = yes needs bus ="));
}

static void test_disk_on_virtio_scsi_gets_its_own_controller_in_the_iothread(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_iothread io = {.id = "io2"};
        struct vmdef_disk disk = {.id = "data",
                                  .path = "/data.qcow2",
                                  .bus = VMDEF_BUS_VIRTIO_SCSI,
                                  .iothread = "io2",
                                  .aio = VMDEF_AIO_THREADS};
        def.iothreads = &io;
        def.n_iothreads = 1;
        def.disks = &disk;
        def.n_disks = 1;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-device", "virtio-scsi-pci", 0),
                            "virtio-scsi-pci,id=scsi-data,iothread=io2");
        assert_string_equal(
                flag_value(&argv, "-device", "scsi-hd", 0),
                "scsi-hd,bus=scsi-data.0,drive=disk-data,id=disk-data-dev,write-cache=on");
        vl_strv_free(&argv);
}

static void test_disk_id_too_long_for_a_node_name_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_disk disk = {
                .id = "a-very-long-disk-name-indeed", .path = "/x", .aio = VMDEF_AIO_THREADS};
        def.disks = &disk;
        def.n_disks = 1;
        assert_non_null(strstr(build_fails(&def, NULL), "too long"));
}

static void test_usb_host_devices_go_on_one_xhci_controller(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_usb usb[] = {{.id = "mouse", .vendor = 0x046d, .product = 0xc52b},
                                  {.id = "pad", .vendor = 0x045e, .product = 0x028e}};
        def.usb = usb;
        def.n_usb = 2;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_int_equal(count_values(&argv, "-device", "qemu-xhci"), 1);
        assert_string_equal(flag_value(&argv, "-device", "qemu-xhci", 0),
                            "qemu-xhci,id=xhci,p2=15,p3=15");
        assert_string_equal(flag_value(&argv, "-device", "usb-host", 0),
                            "usb-host,bus=xhci.0,vendorid=0x046d,productid=0xc52b,id=usb-mouse");
        assert_string_equal(flag_value(&argv, "-device", "usb-host", 1),
                            "usb-host,bus=xhci.0,vendorid=0x045e,productid=0x028e,id=usb-pad");
        vl_strv_free(&argv);
}

static void test_no_usb_devices_means_no_usb_controller(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_int_equal(count_values(&argv, "-device", "qemu-xhci"), 0);
        vl_strv_free(&argv);
}

static void test_evdev_is_an_input_linux_object(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_evdev ev[] = {
                {.id = "kbd",
                 .path = "/dev/input/by-id/usb-kbd-event-kbd",
                 .grab_all = true,
                 .repeat = true,
                 .grab_toggle = "ctrl-ctrl"},
                {.id = "mouse", .path = "/dev/input/by-id/usb-mouse-event-mouse"},
        };
        def.evdev = ev;
        def.n_evdev = 2;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(
                flag_value(&argv, "-object", "input-linux", 0),
                "input-linux,id=evdev-kbd,evdev=/dev/input/by-id/usb-kbd-event-kbd,grab_all=on,repeat=on,grab-toggle=ctrl-ctrl");
        assert_string_equal(
                flag_value(&argv, "-object", "input-linux", 1),
                "input-linux,id=evdev-mouse,evdev=/dev/input/by-id/usb-mouse-event-mouse");
        vl_strv_free(&argv);
}

static void test_net_user_and_bridge(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_net nets[] = {
                {.id = "nat", .mode = VMDEF_NET_USER},
                {.id = "lan",
                 .mode = VMDEF_NET_BRIDGE,
                 .bridge = "br0",
                 .model = "e1000e",
                 .mac = "52:54:00:12:34:56"},
        };
        def.nets = nets;
        def.n_nets = 2;
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-netdev", "", 0), "user,id=net-nat");
        assert_string_equal(flag_value(&argv, "-device", "virtio-net-pci", 0),
                            "virtio-net-pci,netdev=net-nat,id=net-nat-dev");
        assert_string_equal(flag_value(&argv, "-netdev", "", 1),
                            "tap,id=net-lan,fd=7,vhost=on,vhostfd=8");
        assert_string_equal(flag_value(&argv, "-device", "e1000e", 0),
                            "e1000e,netdev=net-lan,id=net-lan-dev,mac=52:54:00:12:34:56");
        vl_strv_free(&argv);
}

static void test_each_bridge_net_gets_its_own_tap_descriptor_and_tcg_no_vhost(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_net nets[] = {
                {.id = "a", .mode = VMDEF_NET_BRIDGE, .bridge = "br0"},
                {.id = "nat", .mode = VMDEF_NET_USER},
                {.id = "b", .mode = VMDEF_NET_BRIDGE, .bridge = "br1"},
        };
        def.nets = nets;
        def.n_nets = 3;
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-netdev", "", 0),
                            "tap,id=net-a,fd=7,vhost=on,vhostfd=8");
        assert_string_equal(flag_value(&argv, "-netdev", "", 2),
                            "tap,id=net-b,fd=9,vhost=on,vhostfd=10");
        vl_strv_free(&argv);
        opts.accel = VMDEF_ACCEL_TCG;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-netdev", "", 0), "tap,id=net-a,fd=7");
        assert_string_equal(flag_value(&argv, "-netdev", "", 2), "tap,id=net-b,fd=9");
        vl_strv_free(&argv);
}

static void test_tpm_is_a_crb_emulator_on_the_inherited_control_socket(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_null(flag_value(&argv, "-tpmdev", "", 0));
        assert_null(flag_value(&argv, "-chardev", "socket,id=chrtpm", 0));
        vl_strv_free(&argv);

        def.tpm_enabled = true;
        build_ok(&def, &opts, &argv);
        assert_int_equal(QEMU_ARGV_FD_TPM, 5);
        assert_string_equal(flag_value(&argv, "-chardev", "socket,id=chrtpm", 0),
                            "socket,id=chrtpm,fd=5");
        assert_string_equal(flag_value(&argv, "-tpmdev", "", 0), "emulator,id=tpm0,chardev=chrtpm");
        assert_string_equal(flag_value(&argv, "-device", "tpm-", 0), "tpm-crb,tpmdev=tpm0");
        assert_int_equal(count_values(&argv, "-tpmdev", ""), 1);
        vl_strv_free(&argv);
}

/* The TPM's descriptor sits before the taps: a bridge never lands on it. */
static void test_tpm_and_bridge_taps_get_distinct_descriptors(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_net net = {.id = "a", .mode = VMDEF_NET_BRIDGE, .bridge = "br0"};
        def.nets = &net;
        def.n_nets = 1;
        def.tpm_enabled = true;
        struct qemu_argv_opts opts = test_opts();
        opts.accel = VMDEF_ACCEL_TCG;
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-chardev", "socket,id=chrtpm", 0),
                            "socket,id=chrtpm,fd=5");
        assert_string_equal(flag_value(&argv, "-netdev", "", 0), "tap,id=net-a,fd=7");
        vl_strv_free(&argv);
}

/* [guest] agent: a virtio-serial port named as qemu-guest-agent expects, on the
 * listening socket at its own descriptor, between the TPM's and the taps'. */
static void test_guest_agent_gets_its_port_on_its_descriptor(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct qemu_argv_opts opts = test_opts();
        struct vl_strv argv;
        build_ok(&def, &opts, &argv);
        assert_null(flag_value(&argv, "-chardev", "socket,id=agent", 0));
        assert_null(flag_value(&argv, "-device", "virtserialport", 0));
        vl_strv_free(&argv);

        struct vmdef_net net = {.id = "a", .mode = VMDEF_NET_BRIDGE, .bridge = "br0"};
        def.nets = &net;
        def.n_nets = 1;
        def.guest_agent = true;
        opts.accel = VMDEF_ACCEL_TCG;
        build_ok(&def, &opts, &argv);
        assert_string_equal(flag_value(&argv, "-device", "virtio-serial-pci", 0),
                            "virtio-serial-pci,id=agent-serial");
        assert_string_equal(flag_value(&argv, "-chardev", "socket,id=agent", 0),
                            "socket,id=agent,fd=6,server=on,wait=off");
        assert_string_equal(
                flag_value(&argv, "-device", "virtserialport", 0),
                "virtserialport,id=agent-port,bus=agent-serial.0,chardev=agent,name=org.qemu.guest_agent.0");
        assert_string_equal(flag_value(&argv, "-netdev", "", 0), "tap,id=net-a,fd=7");
        vl_strv_free(&argv);
}

static void test_net_bridge_without_a_bridge_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_net net = {.id = "lan", .mode = VMDEF_NET_BRIDGE};
        def.nets = &net;
        def.n_nets = 1;
        assert_non_null(strstr(build_fails(&def, NULL), "[net.lan]"));
}

static void test_serial_to_a_file_and_to_a_pty(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        def.serial = "/var/log/vm/t.serial";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-chardev", "file", 0),
                            "file,id=serial0,path=/var/log/vm/t.serial");
        assert_string_equal(flag_value(&argv, "-serial", "", 0), "chardev:serial0");
        vl_strv_free(&argv);

        def.serial = "pty";
        build_ok(&def, NULL, &argv);
        assert_string_equal(flag_value(&argv, "-serial", "", 0), "pty");
        vl_strv_free(&argv);

        def.serial = "none";
        build_ok(&def, NULL, &argv);
        assert_int_equal(index_of(&argv, "-serial"), -1);
        vl_strv_free(&argv);
}

static void test_extra_args_come_last_unchanged(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        char *extra[] = {"-device", "intel-hda,id=snd,bus=pcie.0", "-boot", "menu=on", NULL};
        def.extra_args = extra;
        def.n_extra_args = 4;
        def.serial = "pty";
        struct vl_strv argv;
        build_ok(&def, NULL, &argv);
        assert_string_equal(argv.items[argv.count - 4], "-device");
        assert_string_equal(argv.items[argv.count - 3], "intel-hda,id=snd,bus=pcie.0");
        assert_string_equal(argv.items[argv.count - 1], "menu=on");
        assert_null(argv.items[argv.count]);
        vl_strv_free(&argv);
}

static void test_iothread_with_a_comma_in_its_id_is_an_error(void **state)
{
        (void)state;
        struct vm_def def = test_def();
        struct vmdef_iothread io = {.id = "io1,x=y"};
        def.iothreads = &io;
        def.n_iothreads = 1;
        assert_non_null(strstr(build_fails(&def, NULL), "not usable as a QEMU id"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_argv_starts_paused_without_defaults_or_user_config),
                cmocka_unit_test(test_argv_takes_both_qmp_sockets_as_listening_descriptors),
                cmocka_unit_test(test_argv_has_the_seccomp_sandbox_unless_turned_off),
                cmocka_unit_test(test_memory_without_hugepages_uses_a_ram_backend),
                cmocka_unit_test(test_memory_on_2M_hugepages_is_a_hugetlb_memfd_preallocated),
                cmocka_unit_test(test_memory_on_1G_hugepages_names_the_page_size),
                cmocka_unit_test(test_memory_is_bound_to_the_vcpus_numa_node),
                cmocka_unit_test(
                        test_memory_size_that_is_not_whole_gigabytes_is_written_in_megabytes),
                cmocka_unit_test(test_smp_gives_the_count_and_the_whole_topology),
                cmocka_unit_test(test_each_iothread_is_one_object),
                cmocka_unit_test(
                        test_cpu_host_passthrough_with_cache_topoext_hidden_kvm_and_hyperv),
                cmocka_unit_test(test_cpu_newer_hyperv_flags_are_passed),
                cmocka_unit_test(test_cpu_hyperv_flags_from_qemu_7_1_are_refused_on_qemu_7_0),
                cmocka_unit_test(test_cpu_without_hyperv_has_no_hv_flags_and_utc_clock),
                cmocka_unit_test(test_windows_guest_gets_localtime_slewed_rtc_and_no_hpet),
                cmocka_unit_test(test_cpu_extra_flags_are_appended_as_written),
                cmocka_unit_test(test_accel_kvm),
                cmocka_unit_test(test_accel_auto_in_opts_means_kvm),
                cmocka_unit_test(test_accel_tcg_is_multithreaded_uses_max_and_drops_kvm_only_flags),
                cmocka_unit_test(test_accel_tcg_keeps_a_named_cpu_model),
                cmocka_unit_test(test_uefi_firmware_is_two_pflash_blockdevs_code_read_only),
                cmocka_unit_test(test_bios_firmware_has_no_pflash),
                cmocka_unit_test(test_uefi_without_vars_is_an_error),
                cmocka_unit_test(test_direct_kernel_boot_passes_the_cmdline_whole),
                cmocka_unit_test(test_display_and_vga_default_to_none),
                cmocka_unit_test(test_display_gtk_and_std_vga_when_asked),
                cmocka_unit_test(test_gpu_with_one_function_sits_alone_behind_a_root_port),
                cmocka_unit_test(test_gpu_with_two_functions_is_one_multifunction_slot),
                cmocka_unit_test(test_gpu_host_group_wins_and_romfile_goes_on_function_0),
                cmocka_unit_test(test_gpu_root_port_comes_before_any_other_pci_device),
                cmocka_unit_test(test_gpu_missing_from_its_group_is_an_error),
                cmocka_unit_test(test_gpu_group_of_more_than_eight_devices_is_an_error),
                cmocka_unit_test(test_disk_qcow2_on_virtio_blk_with_iothread_and_boot_order),
                cmocka_unit_test(test_disk_cache_modes_map_to_direct_no_flush_and_write_cache),
                cmocka_unit_test(test_disk_aio_native_without_direct_cache_is_an_error),
                cmocka_unit_test(test_disk_block_device_uses_host_device_driver),
                cmocka_unit_test(test_disk_cdrom_on_sata_is_read_only_ide_cd),
                cmocka_unit_test(test_disk_cdrom_on_virtio_blk_is_an_error),
                cmocka_unit_test(test_disk_readonly_on_sata_is_an_error),
                cmocka_unit_test(test_disk_on_virtio_scsi_gets_its_own_controller_in_the_iothread),
                cmocka_unit_test(test_disk_id_too_long_for_a_node_name_is_an_error),
                cmocka_unit_test(test_usb_host_devices_go_on_one_xhci_controller),
                cmocka_unit_test(test_no_usb_devices_means_no_usb_controller),
                cmocka_unit_test(test_evdev_is_an_input_linux_object),
                cmocka_unit_test(test_net_user_and_bridge),
                cmocka_unit_test(test_each_bridge_net_gets_its_own_tap_descriptor_and_tcg_no_vhost),
                cmocka_unit_test(test_tpm_is_a_crb_emulator_on_the_inherited_control_socket),
                cmocka_unit_test(test_tpm_and_bridge_taps_get_distinct_descriptors),
                cmocka_unit_test(test_guest_agent_gets_its_port_on_its_descriptor),
                cmocka_unit_test(test_net_bridge_without_a_bridge_is_an_error),
                cmocka_unit_test(test_serial_to_a_file_and_to_a_pty),
                cmocka_unit_test(test_extra_args_come_last_unchanged),
                cmocka_unit_test(test_iothread_with_a_comma_in_its_id_is_an_error),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
