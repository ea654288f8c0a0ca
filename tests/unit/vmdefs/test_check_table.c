/* `vmlaunch check FILE` on malformed definitions: each case gives the exact error line
 * and exit code, and proves nothing was written anywhere: the runtime and config
 * directories stay empty and the definition and its directory are unchanged. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/exit_codes.h"

extern char **environ;

enum setup {
        WRITE_FILE,   /* write `text` as FILE, mode 0644, owned by root */
        WRITE_LONG,   /* "[vm]\ndescription = " and 10 MiB of 'x' */
        WRITE_BINARY, /* 1 KiB of bytes 0..255 */
        MODE_0666,    /* `text`, writable by others */
        MODE_0664,    /* `text`, writable by the group */
        OWNER_NOBODY, /* `text`, owned by uid 65534 */
        NO_FILE,      /* FILE does not exist */
        DIRECTORY,    /* FILE is a directory */
        BARE_NAME,    /* `vmlaunch check absent`, resolved in the empty config dir */
};

struct check_case {
        const char *name;
        const char *text;
        const char *expected; /* one full line of stderr; FILE stands for the path */
        int exit_code;
        enum setup setup;
        size_t len; /* 0: strlen(text) */
};

static const struct check_case
        cases[] =
                {
                        {"syntax_no_equals", "[vm]\nname win10\n",
                         "FILE:2: neither a `[section]` header nor a `key = value` line; expected one of them, or a comment starting with `#` or `;`",
                         VL_EXIT_DEFINITION},
                        {"syntax_unclosed_section", "[memory\nsize = 4G\n",
                         "FILE:1: section header has no closing `]`; expected `[name]`",
                         VL_EXIT_DEFINITION},
                        {"syntax_text_after_section", "[memory] size = 4G\n",
                         "FILE:1: text after the section header's `]`; expected only `[name]` and an optional comment",
                         VL_EXIT_DEFINITION},
                        {"syntax_empty_section", "[]\n",
                         "FILE:1: empty section name; expected `[name]`", VL_EXIT_DEFINITION},
                        {"syntax_key_outside_section", "size = 4G\n[memory]\n",
                         "FILE:1: key outside any section; expected a `[section]` header before it, e.g. [vm]",
                         VL_EXIT_DEFINITION},
                        {"syntax_empty_key", "[memory]\n= 4G\n",
                         "FILE:2: no key before `=`; expected `key = value`", VL_EXIT_DEFINITION},
                        {"unknown_section_suggestion", "[memroy]\nsize = 4G\n",
                         "FILE:1: [memroy]: unknown section; did you mean `[memory]`?",
                         VL_EXIT_DEFINITION},
                        {"unknown_section_no_suggestion", "[network]\n",
                         "FILE:1: [network]: unknown section; expected one of [vm], [qemu], [memory], [firmware], [boot], [cpu], [hyperv], [iothreads], [gpu], [host], [hooks], [smbios], [tpm], [guest], [session], [disk.ID], [usb.ID], [evdev.ID], [net.ID]",
                         VL_EXIT_DEFINITION},
                        {"unknown_id_section_suggestion", "[disks.main]\npath = /x\n",
                         "FILE:1: [disks.main]: unknown section; did you mean `[disk.main]`?",
                         VL_EXIT_DEFINITION},
                        {"id_section_without_id", "[disk]\npath = /x\n",
                         "FILE:1: [disk]: missing ID; expected `[disk.ID]`, e.g. [disk.system]",
                         VL_EXIT_DEFINITION},
                        {"id_invalid", "[disk.1st]\npath = /x\n",
                         "FILE:1: [disk.1st]: invalid ID \"1st\"; expected a letter followed by letters, digits, '-', '_' or '.'",
                         VL_EXIT_DEFINITION},
                        {"singleton_with_id", "[cpu.main]\ncores = 2\n",
                         "FILE:1: [cpu.main]: [cpu] takes no ID; expected `[cpu]`",
                         VL_EXIT_DEFINITION},
                        {"unknown_key_suggestion", "[memory]\nhugepage = 2M\n",
                         "FILE:2: [memory] hugepage: unknown key; did you mean `hugepages`?",
                         VL_EXIT_DEFINITION},
                        {"unknown_key_other_section", "[cpu]\nhugepages = 2M\n",
                         "FILE:2: [cpu] hugepages: unknown key in this section; `hugepages` belongs in [memory]",
                         VL_EXIT_DEFINITION},
                        {"duplicate_key", "[memory]\nsize = 4G\nhugepages = 2M\nsize = 8G\n",
                         "FILE:4: [memory] size: given twice (first at line 2); expected each key once per section",
                         VL_EXIT_DEFINITION},
                        {"duplicate_section",
                         "[disk.a]\npath = /a\n[disk.b]\npath = /b\n[disk.a]\npath = /c\n",
                         "FILE:5: [disk.a]: section given twice (first at line 1); expected each section once, merge the two",
                         VL_EXIT_DEFINITION},
                        {"duplicate_singleton_section", "[cpu]\ncores = 2\n[cpu]\nthreads = 1\n",
                         "FILE:3: [cpu]: section given twice (first at line 1); expected each section once, merge the two",
                         VL_EXIT_DEFINITION},
                        {"size_unknown_unit", "[memory]\nsize = 12X\n",
                         "FILE:2: [memory] size: \"12X\": unknown unit \"X\"; expected a size like 12G, 12288M, 12GiB or a number of bytes",
                         VL_EXIT_DEFINITION},
                        {"size_ambiguous", "[memory]\nsize = 12GB\n",
                         "FILE:2: [memory] size: \"12GB\": unit \"GB\" is ambiguous; write G or GiB (powers of 1024)",
                         VL_EXIT_DEFINITION},
                        {"size_fraction", "[memory]\nsize = 1.5G\n",
                         "FILE:2: [memory] size: \"1.5G\": fractions are not supported; write a whole number in a smaller unit, e.g. 1536M instead of 1.5G",
                         VL_EXIT_DEFINITION},
                        {"size_too_small", "[memory]\nsize = 1M\n",
                         "FILE:2: [memory] size: 1048576 bytes is too small; expected at least 64M",
                         VL_EXIT_DEFINITION},
                        {"size_not_hugepage_multiple", "[memory]\nsize = 1025M\nhugepages = 1G\n",
                         "FILE:2: [memory] size: 1025 MiB is not a multiple of the 1G hugepage size; expected a multiple of 1G",
                         VL_EXIT_DEFINITION},
                        {"hugepages_bad", "[memory]\nhugepages = 4M\n",
                         "FILE:2: [memory] hugepages: \"4M\": not a hugepage size of x86-64; expected off, 2M or 1G",
                         VL_EXIT_DEFINITION},
                        {"cpulist_backwards", "[cpu]\nemulator_pin = 3-0\n",
                         "FILE:2: [cpu] emulator_pin: \"3-0\": range 3-0 goes backwards; write ranges from low to high, e.g. 0-3",
                         VL_EXIT_DEFINITION},
                        {"cpulist_garbage", "[cpu]\nemulator_pin = zero\n",
                         "FILE:2: [cpu] emulator_pin: \"zero\": \"zero\" is not a CPU number; expected host CPU numbers and ranges like 0-3,8,10-11",
                         VL_EXIT_DEFINITION},
                        {"cpulist_duplicate", "[cpu]\ncores = 4\nvcpu_pin = 0-3,2\n",
                         "FILE:3: [cpu] vcpu_pin: \"0-3,2\": CPU 2 is listed twice; expected each CPU once, or auto",
                         VL_EXIT_DEFINITION},
                        {"vcpu_pin_count", "[cpu]\ncores = 4\nthreads = 2\nvcpu_pin = 0-3\n",
                         "FILE:4: [cpu] vcpu_pin: lists 4 CPUs but the VM has 8 vCPUs (sockets 1 x dies 1 x cores 4 x threads 2); expected exactly 8 CPUs, one per vCPU",
                         VL_EXIT_DEFINITION},
                        {"iothread_cpulist_bad", "[iothreads]\nio1 = 0-\n",
                         "FILE:2: [iothreads] io1: \"0-\": \"(nothing)\" is not a CPU number; expected host CPU numbers and ranges like 0-3,8,10-11",
                         VL_EXIT_DEFINITION},
                        {"iothread_id_bad", "[iothreads]\n1io = 0\n",
                         "FILE:2: [iothreads] 1io: invalid iothread ID; expected a letter followed by letters, digits, '-', '_' or '.'",
                         VL_EXIT_DEFINITION},
                        {"pci_bad", "[gpu]\naddress = 06:00\n",
                         "FILE:2: [gpu] address: \"06:00\": not a PCI address; expected a PCI address like 06:00.0 or 0000:06:00.0",
                         VL_EXIT_DEFINITION},
                        {"pci_function", "[gpu]\naddress = 06:00.9\n",
                         "FILE:2: [gpu] address: \"06:00.9\": function 9 is out of range; functions go from 0 to 7",
                         VL_EXIT_DEFINITION},
                        {"pci_group_missing_gpu",
                         "[gpu]\naddress = 06:00.0\ngroup = 07:00.0,07:00.1\n",
                         "FILE:3: [gpu] group: does not contain the GPU address 0000:06:00.0; expected 0000:06:00.0 in the list",
                         VL_EXIT_DEFINITION},
                        {"gpu_on_i440fx",
                         "[qemu]\nmachine = pc-i440fx-7.2\n[gpu]\naddress = 06:00.0\n",
                         "FILE:2: [qemu] machine: pc-i440fx-7.2 cannot take the GPU: vmlaunch passes it through on a PCIe root port, which only q35 machines have (and GPU drivers expect PCIe); expected machine = q35 or a pc-q35-* version",
                         VL_EXIT_DEFINITION},
                        {"bool_bad", "[cpu]\ntopoext = maybe\n",
                         "FILE:2: [cpu] topoext: \"maybe\": not a boolean; expected yes/no, on/off, true/false or 1/0",
                         VL_EXIT_DEFINITION},
                        {"uint_range", "[cpu]\nthreads = 0\n",
                         "FILE:2: [cpu] threads: \"0\": expected a whole number from 1 to 8",
                         VL_EXIT_DEFINITION},
                        {"hook_timeout_zero", "[hooks]\ntimeout = 0\n",
                         "FILE:2: [hooks] timeout: \"0\": expected a whole number from 1 to 3600",
                         VL_EXIT_DEFINITION},
                        {"enum_bad", "[qemu]\naccel = hvf\n",
                         "FILE:2: [qemu] accel: \"hvf\": expected auto, kvm or tcg",
                         VL_EXIT_DEFINITION},
                        {"relative_path", "[disk.a]\npath = images/a.qcow2\n",
                         "FILE:2: [disk.a] path: \"images/a.qcow2\": not an absolute path; expected a path starting with /",
                         VL_EXIT_DEFINITION},
                        {"disk_missing_path", "[disk.a]\nformat = raw\n",
                         "FILE:1: [disk.a] path: missing; expected the image file or block device, e.g. path = /var/lib/vmlaunch/disk_missing_path/disk.qcow2",
                         VL_EXIT_DEFINITION},
                        {"disk_iothread_undefined", "[disk.a]\npath = /a\niothread = io1\n",
                         "FILE:3: [disk.a] iothread: no iothread \"io1\" is defined; expected a key of [iothreads], e.g. io1 = 2-3",
                         VL_EXIT_DEFINITION},
                        {"disk_boot_twice",
                         "[disk.a]\npath = /a\nboot = 1\n[disk.b]\npath = /b\nboot = 1\n",
                         "FILE:6: [disk.b] boot: order 1 is also used by [disk.a]; expected a different number per disk",
                         VL_EXIT_DEFINITION},
                        {"disk_aio_native_writeback",
                         "[disk.a]\npath = /a\ncache = writeback\naio = native\n",
                         "FILE:4: [disk.a] aio: native needs O_DIRECT; expected cache = none or directsync, or aio = threads or io_uring",
                         VL_EXIT_DEFINITION},
                        {"disk_cdrom_virtio", "[disk.a]\npath = /a.iso\nmedia = cdrom\n",
                         "FILE:3: [disk.a] media: virtio-blk has no cdrom; expected bus = sata or virtio-scsi",
                         VL_EXIT_DEFINITION},
                        {"disk_sata_readonly", "[disk.a]\npath = /a\nbus = sata\nreadonly = yes\n",
                         "FILE:4: [disk.a] readonly: QEMU has no read-only SATA disk; expected bus = virtio-blk or virtio-scsi, or media = cdrom",
                         VL_EXIT_DEFINITION},
                        {"spinlocks_small", "[hyperv]\nspinlocks = 100\n",
                         "FILE:2: [hyperv] spinlocks: \"100\": expected a retry count from 4095 (0xfff) to 4294967295, or off",
                         VL_EXIT_DEFINITION},
                        {"vendor_id_long", "[hyperv]\nvendor_id = 1234567890abc\n",
                         "FILE:2: [hyperv] vendor_id: \"1234567890abc\": longer than 12 characters; expected 1 to 12 printable ASCII characters without spaces",
                         VL_EXIT_DEFINITION},
                        {"hyperv_dependency", "[hyperv]\nvpindex = no\n",
                         "FILE:2: [hyperv] vpindex: off, but synic (on by default) needs it; expected vpindex = yes or synic = no",
                         VL_EXIT_DEFINITION},
                        {"name_bad", "[vm]\nname = ../etc\n",
                         "FILE:2: [vm] name: \"../etc\": not a usable VM name; expected 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit (it names files and units)",
                         VL_EXIT_DEFINITION},
                        {"name_dot", "[vm]\nname = .hidden\n",
                         "FILE:2: [vm] name: \".hidden\": not a usable VM name; expected 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit (it names files and units)",
                         VL_EXIT_DEFINITION},
                        {"bridge_missing", "[net.lan]\nmode = bridge\n",
                         "FILE:2: [net.lan] bridge: missing for mode = bridge; expected the host bridge, e.g. bridge = br0",
                         VL_EXIT_DEFINITION},
                        {"bridge_without_mode", "[net.lan]\nbridge = br0\n",
                         "FILE:2: [net.lan] bridge: only used with mode = bridge; expected mode = bridge or no bridge",
                         VL_EXIT_DEFINITION},
                        {"mac_multicast", "[net.lan]\nmac = 01:00:5e:00:00:01\n",
                         "FILE:2: [net.lan] mac: \"01:00:5e:00:00:01\": a multicast address; expected a unicast MAC (first byte even), e.g. 52:54:00:12:34:56",
                         VL_EXIT_DEFINITION},
                        {"usb_bad_hex", "[usb.kbd]\nvendor = 046g\nproduct = c52b\n",
                         "FILE:2: [usb.kbd] vendor: \"046g\": not a USB ID; expected 4 hex digits as shown by lsusb, e.g. 046d",
                         VL_EXIT_DEFINITION},
                        {"usb_missing_product", "[usb.kbd]\nvendor = 046d\n",
                         "FILE:1: [usb.kbd] product: missing; expected vendor = and product = as hex IDs from lsusb, e.g. 046d and c52b",
                         VL_EXIT_DEFINITION},
                        {"initrd_without_kernel", "[boot]\ninitrd = /boot/initrd.img\n",
                         "FILE:2: [boot] initrd: given without a kernel; expected kernel = too",
                         VL_EXIT_DEFINITION},
                        {"tcg_host_model", "[qemu]\naccel = tcg\n",
                         "FILE:2: [qemu] accel: tcg cannot run the default [cpu] model = host; expected model = max (or another QEMU model), or accel = kvm",
                         VL_EXIT_DEFINITION},
                        {"args_reserved", "[qemu]\nargs = -daemonize\n",
                         "FILE:2: [qemu] args: -daemonize is not allowed, would detach QEMU from vmlaunch's supervision; expected other options",
                         VL_EXIT_DEFINITION},
                        /* what the QEMU command line cannot carry is refused when the file is read
                         */
                        {"smbios_mode_unknown", "[vm]\nname = a\n[smbios]\nmode = random\n",
                         "FILE:4: [smbios] mode: \"random\": expected none or host",
                         VL_EXIT_DEFINITION},
                        {"smbios_key_unknown", "[smbios]\nserial = 1234\n",
                         "FILE:2: [smbios] serial: unknown key in this section; `serial` belongs in [qemu]",
                         VL_EXIT_DEFINITION},
                        {"pit_policy_unknown", "[qemu]\npit_lost_tick_policy = slew\n",
                         "FILE:2: [qemu] pit_lost_tick_policy: \"slew\": expected auto, delay or discard",
                         VL_EXIT_DEFINITION},
                        {"suspend_to_ram_bad", "[qemu]\nsuspend_to_ram = maybe\n",
                         "FILE:2: [qemu] suspend_to_ram: \"maybe\": expected auto (off when [hyperv] enabled = yes) or yes/no",
                         VL_EXIT_DEFINITION},
                        {"suspend_to_disk_bad", "[qemu]\nsuspend_to_disk = 2\n",
                         "FILE:2: [qemu] suspend_to_disk: \"2\": expected auto (off when [hyperv] enabled = yes) or yes/no",
                         VL_EXIT_DEFINITION},
                        {"vendor_id_comma", "[hyperv]\nvendor_id = ab,cd\n",
                         "FILE:2: [hyperv] vendor_id: \"ab,cd\": contains ',' or '=', which QEMU's -cpu cannot carry; expected 1 to 12 printable ASCII characters without spaces, ',' or '='",
                         VL_EXIT_DEFINITION},
                        {"vendor_id_equals", "[hyperv]\nvendor_id = a=b\n",
                         "FILE:2: [hyperv] vendor_id: \"a=b\": contains ',' or '=', which QEMU's -cpu cannot carry; expected 1 to 12 printable ASCII characters without spaces, ',' or '='",
                         VL_EXIT_DEFINITION},
                        {"disk_id_too_long", "[disk.abcdefghijklmnopqrs]\npath = /a\n",
                         "FILE:1: [disk.abcdefghijklmnopqrs]: ID \"abcdefghijklmnopqrs\" is 19 characters; expected at most 18 (QEMU's node names \"disk-ID-storage\" hold 31)",
                         VL_EXIT_DEFINITION},
                        {"sata_seventh_disk",
                         "[disk.d0]\npath = /d0\nbus = sata\n[disk.d1]\npath = /d1\nbus = sata\n[disk.d2]\npath = /d2\nbus = sata\n[disk.d3]\npath = /d3\nbus = sata\n[disk.d4]\npath = /d4\nbus = sata\n[disk.d5]\npath = /d5\nbus = sata\n[disk.d6]\npath = /d6\nbus = sata\n",
                         "FILE:21: [disk.d6] bus: sata disk number 7, but q35 has 6 SATA ports; expected bus = virtio-blk or virtio-scsi for the others",
                         VL_EXIT_DEFINITION},
                        {"iothread_id_too_long",
                         "[iothreads]\nioxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx = 0\n",
                         "FILE:2: [iothreads] ioxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: iothread ID is 65 characters; expected at most 64",
                         VL_EXIT_DEFINITION},
                        {"machine_starts_with_digit", "[qemu]\nmachine = 35q\n",
                         "FILE:2: [qemu] machine: \"35q\": expected a QEMU machine type such as q35 or pc-q35-7.2 (a letter, then letters, digits, '.', '-', '_'; at most 64)",
                         VL_EXIT_DEFINITION},
                        {"cpu_model_starts_with_digit", "[cpu]\nmodel = 486\n",
                         "FILE:2: [cpu] model: \"486\": expected host or a QEMU CPU model such as EPYC-Rome or max (a letter, then letters, digits, '.', '-', '_'; at most 64)",
                         VL_EXIT_DEFINITION},
                        {"net_model_starts_with_digit", "[net.lan]\nmodel = 8139\n",
                         "FILE:2: [net.lan] model: \"8139\": expected a QEMU network device such as virtio-net-pci or e1000e (a letter, then letters, digits, '-', '_'; at most 64)",
                         VL_EXIT_DEFINITION},
                        {"gpu_group_of_nine",
                         "[gpu]\naddress = 07:00.0\ngroup = 07:00.0,07:00.1,07:00.2,07:00.3,07:00.4,07:00.5,07:00.6,07:00.7,07:01.0\n",
                         "FILE:3: [gpu] group: lists 9 devices, but they share one PCI slot of at most 8 functions; expected at most 8",
                         VL_EXIT_DEFINITION},
                        /* one name everywhere */
                        {"name_differs_from_file", "[vm]\nname = other\n",
                         "FILE:2: [vm] name: \"other\" differs from \"name_differs_from_file\", the name this file is loaded as (name_differs_from_file.ini), which run, status, stop, restore and vmlaunch@name_differs_from_file.service use; expected name = name_differs_from_file, or rename the file to other.ini",
                         VL_EXIT_DEFINITION},
                        /* [qemu] args may not replace what vmlaunch owns */
                        {"args_monitor", "[qemu]\nargs = -monitor stdio\n",
                         "FILE:2: [qemu] args: -monitor is not allowed, vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`); expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_mon", "[qemu]\nargs = -mon chardev=x\n",
                         "FILE:2: [qemu] args: -mon is not allowed, vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`); expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_qmp_pretty", "[qemu]\nargs = -qmp-pretty tcp::4444\n",
                         "FILE:2: [qemu] args: -qmp-pretty is not allowed, vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`); expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_monitor_equals", "[qemu]\nargs = -monitor=stdio\n",
                         "FILE:2: [qemu] args: -monitor=stdio is not allowed, vmlaunch owns QEMU's monitors (use `vmlaunch qmp NAME`); expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_double_dash", "[qemu]\nargs = --sandbox off\n",
                         "FILE:2: [qemu] args: --sandbox is not allowed, vmlaunch sets it from [qemu] sandbox; expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_run_with", "[qemu]\nargs = -run-with user=root\n",
                         "FILE:2: [qemu] args: -run-with is not allowed, vmlaunch decides QEMU's user ([qemu] user); expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_add_fd", "[qemu]\nargs = -add-fd fd=3,set=1\n",
                         "FILE:2: [qemu] args: -add-fd is not allowed, vmlaunch hands QEMU its descriptors itself; expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_enable_kvm", "[qemu]\nargs = -enable-kvm\n",
                         "FILE:2: [qemu] args: -enable-kvm is not allowed, use [qemu] accel; expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_vnc", "[qemu]\nargs = -vnc 0.0.0.0:0\n",
                         "FILE:2: [qemu] args: -vnc is not allowed, use [qemu] display = vnc=... (with vnc_password_file off loopback); expected other options",
                         VL_EXIT_DEFINITION},
                        {"args_chardev_owned_id",
                         "[qemu]\nargs = -chardev socket,id=qmp,path=/tmp/q,server=on\n",
                         "FILE:2: [qemu] args: -chardev socket,id=qmp,path=/tmp/q,server=on is not allowed, the chardev id \"qmp\" is vmlaunch's own (its monitors and serial log use qmp, ctl and serial0); give your chardev another id",
                         VL_EXIT_DEFINITION},
                        {"args_chardev_equals_owned_id",
                         "[qemu]\nargs = -chardev=file,path=/tmp/s,id=serial0\n",
                         "FILE:2: [qemu] args: -chardev file,path=/tmp/s,id=serial0 is not allowed, the chardev id \"serial0\" is vmlaunch's own (its monitors and serial log use qmp, ctl and serial0); give your chardev another id",
                         VL_EXIT_DEFINITION},
                        {"args_set_owned_chardev", "[qemu]\nargs = -set chardev.ctl.path=/tmp/c\n",
                         "FILE:2: [qemu] args: -set chardev.ctl.path=/tmp/c is not allowed, the chardev id \"ctl\" is vmlaunch's own (its monitors and serial log use qmp, ctl and serial0); give your chardev another id",
                         VL_EXIT_DEFINITION},
                        {"vnc_everywhere_without_password", "[qemu]\ndisplay = vnc=0.0.0.0:1\n",
                         "FILE:2: [qemu] display: VNC on 0.0.0.0 listens beyond this host and has no password; expected a loopback address (vnc=:N listens on 127.0.0.1 only) or [qemu] vnc_password_file = a root-only file holding the password",
                         VL_EXIT_DEFINITION},
                        {"vnc_password_file_missing",
                         "[qemu]\ndisplay = vnc=0.0.0.0:1\nvnc_password_file = /nonexistent/vnc.pw\n",
                         "FILE:3: [qemu] vnc_password_file: /nonexistent/vnc.pw: No such file or directory; expected a file holding the VNC password",
                         VL_EXIT_HOST_CHECK},
                        {"args_unterminated", "[qemu]\nargs = -device 'usb-tablet\n",
                         "FILE:2: [qemu] args: \"-device 'usb-tablet\": unterminated single quote; expected a closing '",
                         VL_EXIT_DEFINITION},
                        {"secure_boot_bios", "[firmware]\ntype = bios\nsecure_boot = yes\n",
                         "FILE:3: [firmware] secure_boot: yes needs UEFI, but type = bios (SeaBIOS has no Secure Boot); set type = uefi or secure_boot = no",
                         VL_EXIT_DEFINITION},
                        {"vars_is_template",
                         "[firmware]\nvars_template = /usr/share/OVMF/OVMF_VARS_4M.fd\nvars = /usr/share/OVMF/OVMF_VARS_4M.fd\n",
                         "FILE:3: [firmware] vars: is the template itself, the VM would write into it; expected a per-VM copy such as /var/lib/vmlaunch/vars_is_template/OVMF_VARS.fd",
                         VL_EXIT_DEFINITION},
                        {"stop_units_bad", "[host]\nstop_units = display-manager\n",
                         "FILE:2: [host] stop_units: \"display-manager\": \"display-manager\" is not a unit name; expected names with their type, e.g. display-manager.service, separated by commas",
                         VL_EXIT_DEFINITION},
                        {"evdev_toggle",
                         "[evdev.kbd]\npath = /dev/input/event0\ngrab_toggle = ctrl-alt\n",
                         "FILE:3: [evdev.kbd] grab_toggle: \"ctrl-alt\": expected ctrl-ctrl, alt-alt, shift-shift, meta-meta, scrolllock or ctrl-scrolllock",
                         VL_EXIT_DEFINITION},
                        {"invalid_utf8", "[vm]\ndescription = caf\xe9\n",
                         "FILE:2: invalid UTF-8 (byte 0xe9 at column 18); expected a UTF-8 text file (nothing after this line was read)",
                         VL_EXIT_DEFINITION},
                        {"only_comments", "# nothing\n\n", "FILE: has only comments and blank lines; expected a VM definition with sections such as [memory] and [cpu] (see vmlaunch.ini(5))",
                         VL_EXIT_DEFINITION},
                        {"missing_disk_image", "[disk.a]\npath = /nonexistent/a.qcow2\n",
                         "FILE:2: [disk.a] path: /nonexistent/a.qcow2: No such file or directory; expected an existing disk image or block device",
                         VL_EXIT_HOST_CHECK},
                        {"missing_firmware_code", "[firmware]\ncode = /nonexistent/OVMF_CODE.fd\n",
                         "FILE:2: [firmware] code: /nonexistent/OVMF_CODE.fd: No such file or directory; expected the OVMF code file (Debian package ovmf)",
                         VL_EXIT_HOST_CHECK},
                        {"missing_gpu_romfile",
                         "[gpu]\naddress = 06:00.0\n\nromfile = /nonexistent/tu106.rom\n",
                         "FILE:4: [gpu] romfile: /nonexistent/tu106.rom: No such file or directory; expected an existing VBIOS ROM file",
                         VL_EXIT_HOST_CHECK},
                        {"missing_boot_kernel", "[boot]\nkernel = /nonexistent/vmlinuz\n",
                         "FILE:2: [boot] kernel: /nonexistent/vmlinuz: No such file or directory; expected an existing kernel image",
                         VL_EXIT_HOST_CHECK},
                        {"line_longer_than_inih_buffer",
                         "[vm]\ndescription = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
                         "FILE:2: line is 204 bytes long; expected at most 197 bytes per line (split a long value over indented continuation lines)",
                         VL_EXIT_DEFINITION},
                        {"ten_megabyte_line", NULL,
                         "FILE:2: line is 10485774 bytes long; expected at most 197 bytes per line (split a long value over indented continuation lines)",
                         VL_EXIT_DEFINITION, WRITE_LONG},
                        {"nul_byte", "[vm]\nname = a\0b\n",
                         "FILE:2: NUL byte at column 9, this looks like binary data; expected a UTF-8 text file (nothing after this line was read)",
                         VL_EXIT_DEFINITION, WRITE_FILE, 15},
                        {"binary_garbage", NULL,
                         "FILE:1: NUL byte at column 1, this looks like binary data; expected a UTF-8 text file (nothing after this line was read)",
                         VL_EXIT_DEFINITION, WRITE_BINARY},
                        {"empty_file", "",
                         "FILE: is empty; expected a VM definition with sections such as [memory] and [cpu] (see vmlaunch.ini(5))",
                         VL_EXIT_DEFINITION},
                        {"missing_file", NULL,
                         "FILE: no such file; expected a definition file (a bare NAME is read from the config directory as NAME.ini)",
                         VL_EXIT_DEFINITION, NO_FILE},
                        {"missing_name_in_config_dir", NULL,
                         "FILE: no such file; expected a definition file (a bare NAME is read from the config directory as NAME.ini)",
                         VL_EXIT_DEFINITION, BARE_NAME},
                        {"directory", NULL,
                         "FILE: is a directory; expected a definition file such as FILE/NAME.ini",
                         VL_EXIT_DEFINITION, DIRECTORY},
                        {"writable_by_others", "[vm]\n",
                         "FILE: writable by others (mode 0666), but it drives root actions; fix with chown root:root FILE && chmod 644 FILE",
                         VL_EXIT_DEFINITION, MODE_0666},
                        {"writable_by_group", "[vm]\n",
                         "FILE: writable by its group (mode 0664), but it drives root actions; fix with chown root:root FILE && chmod 644 FILE",
                         VL_EXIT_DEFINITION, MODE_0664},
                        {"not_owned_by_root", "[vm]\n",
                         "FILE: owned by uid 65534, not root, but it drives root actions; fix with chown root:root FILE && chmod 644 FILE",
                         VL_EXIT_DEFINITION, OWNER_NOBODY},
};

/* [tpm], [guest], [session], [gpu] reset_method: in a table of their own (one braced
 * list of this size is where clang-format gives up laying it out). */
static const struct check_case late_cases[] = {
        {"unknown_key_no_suggestion", "[gpu]\nfoo = bar\n",
         "FILE:2: [gpu] foo: unknown key; expected one of address, romfile, group, reset_method",
         VL_EXIT_DEFINITION},
        {"gpu_reset_method_unknown", "[gpu]\naddress = 06:00.0\nreset_method = flr reboot\n",
         "FILE:3: [gpu] reset_method: \"flr reboot\": \"reboot\" is no reset method of the kernel; expected auto or methods among device_specific, acpi, flr, af_flr, pm, bus, cxl_bus, in the order to try them",
         VL_EXIT_DEFINITION},
        {"gpu_reset_method_twice", "[gpu]\naddress = 06:00.0\nreset_method = bus,flr,bus\n",
         "FILE:3: [gpu] reset_method: \"bus,flr,bus\": bus is listed twice", VL_EXIT_DEFINITION},
        {"gpu_reset_method_without_address", "[gpu]\nreset_method = auto\n",
         "FILE:2: [gpu] reset_method: given without an address; expected address = the GPU's PCI address, e.g. 06:00.0",
         VL_EXIT_DEFINITION},
        {"tpm_enabled_bad", "[tpm]\nenabled = maybe\n",
         "FILE:2: [tpm] enabled: \"maybe\": not a boolean; expected yes/no, on/off, true/false or 1/0",
         VL_EXIT_DEFINITION},
        {"tpm_state_dir_relative", "[tpm]\nenabled = yes\nstate_dir = tpm\n",
         "FILE:3: [tpm] state_dir: \"tpm\": not an absolute path; expected a path starting with /",
         VL_EXIT_DEFINITION},
        {"tpm_state_dir_root", "[tpm]\nenabled = yes\nstate_dir = /\n",
         "FILE:3: [tpm] state_dir: is the root folder; expected a folder of this VM's own, such as /var/lib/vmlaunch/tpm_state_dir_root/tpm",
         VL_EXIT_DEFINITION},
        {"tpm_unknown_key", "[tpm]\nversion = 2.0\n",
         "FILE:2: [tpm] version: unknown key; expected one of enabled, state_dir",
         VL_EXIT_DEFINITION},
        {"agent_bad", "[guest]\nagent = sometimes\n",
         "FILE:2: [guest] agent: \"sometimes\": not a boolean; expected yes/no, on/off, true/false or 1/0",
         VL_EXIT_DEFINITION},
        {"ready_unknown", "[session]\nready = booted\n",
         "FILE:2: [session] ready: \"booted\": expected running, agent, tcp:PORT or tcp:HOST:PORT, e.g. tcp:47989",
         VL_EXIT_DEFINITION},
        {"ready_agent_without_agent", "[session]\nready = agent\n",
         "FILE:2: [session] ready: agent needs the guest agent's port; expected [guest] agent = yes",
         VL_EXIT_DEFINITION},
        {"ready_port_zero", "[guest]\nagent = yes\n[session]\nready = tcp:0\n",
         "FILE:4: [session] ready: \"tcp:0\": expected tcp:PORT (the guest's address from its agent) or tcp:HOST:PORT with PORT from 1 to 65535, e.g. tcp:47989",
         VL_EXIT_DEFINITION},
        {"ready_port_too_big", "[session]\nready = tcp:10.0.0.5:65536\n",
         "FILE:2: [session] ready: \"tcp:10.0.0.5:65536\": expected tcp:PORT (the guest's address from its agent) or tcp:HOST:PORT with PORT from 1 to 65535, e.g. tcp:47989",
         VL_EXIT_DEFINITION},
        {"ready_bad_host", "[session]\nready = tcp:a/b:80\n",
         "FILE:2: [session] ready: \"tcp:a/b:80\": expected tcp:HOST:PORT with HOST an IP address ([::1] for IPv6) or a host name",
         VL_EXIT_DEFINITION},
        {"ready_port_without_agent", "[session]\nready = tcp:47989\n",
         "FILE:2: [session] ready: tcp:PORT asks the guest agent for the guest's address; expected [guest] agent = yes, or tcp:HOST:PORT",
         VL_EXIT_DEFINITION},
        {"wake_without_mac", "[session]\nwake_on_lan = yes\n[net.lan]\nmode = user\n",
         "FILE:2: [session] wake_on_lan: a magic packet names a MAC and no [net.ID] has one; expected mac = 52:54:00:... in a [net.ID]",
         VL_EXIT_DEFINITION},
};

#define N_MAIN_CASES (sizeof(cases) / sizeof(cases[0]))
#define N_CASES      (N_MAIN_CASES + sizeof(late_cases) / sizeof(late_cases[0]))

static char work[64], defdir[128], rundir[128], confdir[128], outdir[128];

static void must(int ok, const char *what)
{
        if (!ok)
                fail_msg("%s: %s", what, strerror(errno));
}

static int setup_dirs(void **state)
{
        (void)state;
        snprintf(work, sizeof(work), "/tmp/vmlaunch-check-XXXXXX");
        if (!mkdtemp(work))
                return -1;
        snprintf(defdir, sizeof(defdir), "%s/defs", work);
        snprintf(rundir, sizeof(rundir), "%s/run", work);
        snprintf(confdir, sizeof(confdir), "%s/conf", work);
        snprintf(outdir, sizeof(outdir), "%s/out", work);
        if (mkdir(defdir, 0755) || mkdir(rundir, 0700) || mkdir(confdir, 0755) ||
            mkdir(outdir, 0700))
                return -1;
        /* chmod: the test runner's umask must not decide what the checks see */
        return chmod(defdir, 0755) || chmod(confdir, 0755) ? -1 : 0;
}

static void remove_dir_contents(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char path[512];
        if (!d)
                return;
        while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                if (unlink(path) < 0 && errno == EISDIR)
                        rmdir(path);
                else if (errno == EISDIR || errno == EPERM)
                        rmdir(path);
        }
        closedir(d);
}

static int teardown_dirs(void **state)
{
        (void)state;
        const char *dirs[] = {defdir, rundir, confdir, outdir};
        for (size_t i = 0; i < 4; i++) {
                remove_dir_contents(dirs[i]);
                rmdir(dirs[i]);
        }
        return rmdir(work);
}

static bool dir_is_empty(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        bool empty = true;
        assert_non_null(d);
        while ((e = readdir(d)))
                empty &= !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        closedir(d);
        return empty;
}

static char *read_file(const char *path, size_t *len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        must(fd >= 0 && fstat(fd, &st) == 0, path);
        char *buf = malloc((size_t)st.st_size + 1);
        size_t got = 0;
        assert_non_null(buf);
        while (got < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
                must(n > 0, path);
                got += (size_t)n;
        }
        buf[got] = '\0';
        close(fd);
        *len = got;
        return buf;
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode, uid_t uid)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        must(fd >= 0, path);
        for (size_t off = 0; off < len;) {
                ssize_t n = write(fd, data + off, len - off);
                must(n > 0, path);
                off += (size_t)n;
        }
        must(fchmod(fd, mode) == 0, "fchmod");
        must(fchown(fd, uid, 0) == 0, "fchown");
        close(fd);
}

/* What "unchanged" means for the definition and its directory. */
struct snapshot {
        struct stat file, dir;
        bool file_exists;
        char *content;
        size_t len;
        size_t dir_entries;
};

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        size_t n = 0;
        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static void take_snapshot(const char *path, struct snapshot *s)
{
        memset(s, 0, sizeof(*s));
        s->file_exists = lstat(path, &s->file) == 0;
        if (s->file_exists && S_ISREG(s->file.st_mode))
                s->content = read_file(path, &s->len);
        must(stat(defdir, &s->dir) == 0, defdir);
        s->dir_entries = count_entries(defdir);
}

static void assert_same_stat(const struct stat *a, const struct stat *b)
{
        assert_int_equal(a->st_ino, b->st_ino);
        assert_int_equal(a->st_mode, b->st_mode);
        assert_int_equal(a->st_uid, b->st_uid);
        assert_int_equal(a->st_gid, b->st_gid);
        assert_int_equal(a->st_size, b->st_size);
        assert_int_equal(a->st_nlink, b->st_nlink);
        assert_int_equal(a->st_mtim.tv_sec, b->st_mtim.tv_sec);
        assert_int_equal(a->st_mtim.tv_nsec, b->st_mtim.tv_nsec);
        assert_int_equal(a->st_ctim.tv_sec, b->st_ctim.tv_sec);
        assert_int_equal(a->st_ctim.tv_nsec, b->st_ctim.tv_nsec);
}

static void assert_unchanged(const char *path, const struct snapshot *before)
{
        struct snapshot after;
        take_snapshot(path, &after);
        assert_int_equal(after.file_exists, before->file_exists);
        if (before->file_exists)
                assert_same_stat(&after.file, &before->file);
        assert_int_equal(after.len, before->len);
        if (before->content)
                assert_memory_equal(after.content, before->content, before->len);
        assert_same_stat(&after.dir, &before->dir);
        assert_int_equal(after.dir_entries, before->dir_entries);
        free(after.content);
}

static int run_check(const char *arg, char **out, char **err)
{
        char out_path[256], err_path[256];
        snprintf(out_path, sizeof(out_path), "%s/stdout", outdir);
        snprintf(err_path, sizeof(err_path), "%s/stderr", outdir);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        const char *exe = getenv("VMLAUNCH");
        char *argv[] = {(char *)exe, "check", (char *)arg, NULL};
        pid_t pid;
        int r = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        assert_int_equal(r, 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        size_t len;
        *out = read_file(out_path, &len);
        *err = read_file(err_path, &len);
        return WEXITSTATUS(status);
}

/* Replaces every "FILE" in pattern with path. */
static char *expand(const char *pattern, const char *path)
{
        size_t cap = strlen(pattern) * 2 + strlen(path) * 8 + 1;
        char *s = calloc(1, cap);
        assert_non_null(s);
        for (const char *p = pattern; *p;) {
                if (!strncmp(p, "FILE", 4)) {
                        strcat(s, path);
                        p += 4;
                } else {
                        strncat(s, p++, 1);
                }
        }
        return s;
}

static bool has_line(const char *text, const char *line)
{
        size_t n = strlen(line);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

static void prepare(const struct check_case *c, char *path, size_t path_len, char *arg,
                    size_t arg_len)
{
        snprintf(path, path_len, "%s/%s.ini", defdir, c->name);
        snprintf(arg, arg_len, "%s", path);
        size_t len = c->len ? c->len : c->text ? strlen(c->text) : 0;
        switch (c->setup) {
        case WRITE_FILE:
                write_file(path, c->text, len, 0644, 0);
                break;
        case WRITE_LONG: {
                const char *head = "[vm]\ndescription = ";
                size_t n = strlen(head) + (10u << 20) + 1;
                char *buf = malloc(n);
                assert_non_null(buf);
                memcpy(buf, head, strlen(head));
                memset(buf + strlen(head), 'x', 10u << 20);
                buf[n - 1] = '\n';
                write_file(path, buf, n, 0644, 0);
                free(buf);
                break;
        }
        case WRITE_BINARY: {
                char buf[1024];
                for (size_t i = 0; i < sizeof(buf); i++)
                        buf[i] = (char)(i & 0xff);
                write_file(path, buf, sizeof(buf), 0644, 0);
                break;
        }
        case MODE_0666:
                write_file(path, c->text, len, 0666, 0);
                break;
        case MODE_0664:
                write_file(path, c->text, len, 0664, 0);
                break;
        case OWNER_NOBODY:
                write_file(path, c->text, len, 0644, 65534);
                break;
        case NO_FILE:
                break;
        case DIRECTORY:
                must(mkdir(path, 0755) == 0, path);
                break;
        case BARE_NAME:
                snprintf(path, path_len, "%s/absent.ini", confdir);
                snprintf(arg, arg_len, "absent");
                break;
        }
}

static void cleanup(const struct check_case *c, const char *path)
{
        if (c->setup == DIRECTORY)
                rmdir(path);
        else if (c->setup != BARE_NAME)
                unlink(path);
}

static void test_check_rejects_each_malformed_definition_and_changes_nothing(void **state)
{
        (void)state;
        if (geteuid() != 0) {
                /* The ownership cases need root to chown; the others would still run, but
                 * the table is one specification. */
                print_message("skipped: needs root to create files owned by other users\n");
                skip();
        }
        setenv("VMLAUNCH_RUNTIME_DIR", rundir, 1);
        setenv("VMLAUNCH_CONFIG_DIR", confdir, 1);
        assert_true(N_CASES >= 40);
        size_t failures = 0;
        for (size_t i = 0; i < N_CASES; i++) {
                const struct check_case *c =
                        i < N_MAIN_CASES ? &cases[i] : &late_cases[i - N_MAIN_CASES];
                char path[256], arg[256];
                prepare(c, path, sizeof(path), arg, sizeof(arg));
                struct snapshot before;
                take_snapshot(path, &before);

                char *out, *err;
                int code = run_check(arg, &out, &err);
                char *expected = expand(c->expected, path);
                bool ok = code == c->exit_code && has_line(err, expected) && !*out;
                if (!ok) {
                        failures++;
                        print_error("case %s: exit %d (expected %d)\n  expected line: %s\n"
                                    "  stderr: %s  stdout: %s\n",
                                    c->name, code, c->exit_code, expected, err, out);
                }
                assert_true(dir_is_empty(rundir));
                assert_true(dir_is_empty(confdir));
                assert_unchanged(path, &before);
                free(before.content);
                free(expected);
                free(out);
                free(err);
                cleanup(c, path);
        }
        assert_int_equal(failures, 0);
}

static void test_check_accepts_a_valid_definition(void **state)
{
        (void)state;
        char path[256];
        snprintf(path, sizeof(path), "%s/good.ini", defdir);
        const char *text = "[memory]\nsize = 1G\n[cpu]\nmodel = max\n[qemu]\naccel = tcg\n";
        write_file(path, text, strlen(text), 0644, geteuid());
        setenv("VMLAUNCH_RUNTIME_DIR", rundir, 1);
        setenv("VMLAUNCH_CONFIG_DIR", confdir, 1);
        struct stat st;
        if (stat("/usr/share/OVMF/OVMF_CODE_4M.fd", &st) < 0) {
                unlink(path);
                print_message("skipped: OVMF is not installed\n");
                skip();
        }
        char *out, *err;
        char arg[300];
        snprintf(arg, sizeof(arg), "%s", path);
        int code = geteuid() == 0 ? run_check(arg, &out, &err) : -1;
        if (code == -1) {
                unlink(path);
                skip();
        }
        assert_string_equal(err, "");
        /* Debian's ovmf descriptors, as the skip above assumes; then the host, one line
         * each, the IOMMU first (what this host has varies: only the shape is fixed). */
        const char *head =
                "good: definition OK (2 vCPUs, 1024 MiB, 0 disks)\n"
                "  firmware: /usr/share/qemu/firmware/60-edk2-x86_64.json: first by name without enrolled-keys or requires-smm for q35 (secure_boot = no)\n";
        assert_int_equal(strncmp(out, head, strlen(head)), 0);
        const char *host[] = {"IOMMU: ", "KVM: ", "vfio-pci: ", "cgroup v2: ", "memory: "};
        const char *line = out + strlen(head);
        for (size_t i = 0; i < sizeof(host) / sizeof(host[0]); i++) {
                char want[64];
                snprintf(want, sizeof(want), "  this host: %s", host[i]);
                assert_int_equal(strncmp(line, want, strlen(want)), 0);
                line = strchr(line, '\n');
                assert_non_null(line);
                line++;
        }
        assert_string_equal(line, "");
        assert_int_equal(code, VL_EXIT_OK);
        assert_true(dir_is_empty(rundir));
        free(out);
        free(err);
        unlink(path);
}

int main(void)
{
        if (!getenv("VMLAUNCH")) {
                printf("skipped: VMLAUNCH (the built binary) is not set; run through meson test\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_check_rejects_each_malformed_definition_and_changes_nothing),
                cmocka_unit_test(test_check_accepts_a_valid_definition),
        };
        return cmocka_run_group_tests(tests, setup_dirs, teardown_dirs);
}
