/* The QEMU command line, built from a definition and resolved host facts.
 *
 * Pure: no I/O, no environment, no shell. Every user value that enters a
 * "key=value,..." option goes through optstr_add(), which doubles its commas
 * (QEMU's escape), so a path like "/x,readonly=off" stays one value.
 *
 * The shape follows what libvirt generates for the same features (its
 * tests/qemuxmlconfdata/ *.x86_64-latest.args), in key=value form rather than
 * JSON so the plan stays readable. Block by block:
 *   -name guest=,debug-threads=on, -S, -no-user-config, -nodefaults,
 *   -overcommit mem-lock=off, -msg timestamp=on ... every libvirt domain
 *   -machine ...,memory-backend=, -object memory-backend-* ... hugepages-*,
 *     memfd-memory-default (see add_memory for the backend choice)
 *   -machine ...,pflash0=,pflash1= over -blockdev pairs ...... firmware/bios-nvram
 *   -cpu host,topoext=on,host-cache-info=on .................. cpu-host-passthrough,
 *     cpu-cache-passthrough
 *   -cpu ...,kvm=off,hv-*= ..................................... kvm-features, hyperv
 *   -rtc base=localtime,driftfix=slew, hpet=off, hv-time ....... clock-localtime,
 *     virt-manager's Windows clock (rtc catchup, pit delay, hpet no, hypervclock)
 *   -smp N,sockets=,dies=,cores=,threads= ...................... cpu-topology*
 *   -object iothread,id= ........................................ iothreads-disk
 *   (-global, -smbios, -fw_cfg: qemu_argv_platform.c)
 *   (the rest, in qemu_argv_devices.c: hostdev-vfio, pcie-root-port, disk-*,
 *   hostdev-usb-address, input-linux, net-user, net-bridge)
 */
#include "qemu/qemu_argv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qemu_argv_internal.h"
#include "qemu/qemu_compat.h"
#include "util/cleanup.h"
#include "util/macro.h"

int argv_push(struct argv_builder *b, const char *arg)
{
        if (vl_strv_push(b->argv, arg) < 0)
                return vl_error_set(b->err, ENOMEM, "building the QEMU command line");
        return 0;
}

int argv_push_option(struct argv_builder *b, const char *flag, struct optstr *o)
{
        _cleanup_free_ char *value = optstr_take(o);
        if (!value)
                return vl_error_set(b->err, ENOMEM, "building the QEMU command line");
        int r = argv_push(b, flag);
        return r < 0 ? r : argv_push(b, value);
}

int argv_check_id(struct argv_builder *b, const char *what, const char *id, size_t max_len)
{
        bool ok = id && ((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z'));
        for (const char *p = id; ok && *p; p++)
                ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._",
                            *p) != NULL;
        if (!ok)
                return vl_error_set(
                        b->err, 0,
                        "%s '%s' is not usable as a QEMU id; use a letter followed by letters, digits, '-', '.' or '_'",
                        what, id ? id : "");
        if (strlen(id) > max_len)
                return vl_error_set(b->err, 0,
                                    "%s '%s' is too long for QEMU; use at most %zu characters",
                                    what, id, max_len);
        return 0;
}

/* "12G", "512M", "4k" or plain bytes: the largest unit that divides the size exactly. */
static void format_size(uint64_t bytes, char buf[static 32])
{
        static const struct {
                uint64_t unit;
                char suffix;
        } units[] = {{1ULL << 30, 'G'}, {1ULL << 20, 'M'}, {1ULL << 10, 'k'}};
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (bytes && bytes % units[i].unit == 0) {
                        snprintf(buf, 32, "%" PRIu64 "%c", bytes / units[i].unit, units[i].suffix);
                        return;
                }
        snprintf(buf, 32, "%" PRIu64, bytes);
}

/* Windows wants a local-time RTC and does without the HPET once it has the
 * Hyper-V clock; the definition says "Windows" by turning Hyper-V on. */
static bool guest_is_windows(const struct vm_def *def)
{
        return def->hyperv.enabled;
}

static bool uses_uefi_pflash(const struct vm_def *def)
{
        return def->firmware == VMDEF_FIRMWARE_UEFI;
}

static int add_name(struct argv_builder *b)
{
        struct optstr o = {0};
        optstr_add(&o, "guest", b->def->name);
        /* names QEMU's threads ("CPU 0/KVM", "IO io1") so pinning can be checked */
        optstr_addf(&o, "debug-threads=on");
        int r = argv_push_option(b, "-name", &o);
        /* paused until every vCPU and iothread is pinned; the launcher sends `cont` */
        return r < 0 ? r : argv_push(b, "-S");
}

static int add_machine(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        const char *type = def->machine ? def->machine : "q35";
        int r = argv_check_id(b, "[qemu] machine", type, 64);
        if (r < 0)
                return r;

        struct optstr o = {0};
        optstr_begin(&o, type);
        optstr_addf(&o, "usb=off");             /* USB comes from our own qemu-xhci */
        optstr_addf(&o, "dump-guest-core=off"); /* a crash dump without 12G of guest RAM */
        optstr_addf(&o, "memory-backend=mem");
        if (uses_uefi_pflash(def))
                optstr_addf(&o, "pflash0=ovmf-code,pflash1=ovmf-vars");
        if (uses_uefi_pflash(def) && b->opts->firmware_secure)
                optstr_addf(&o, "smm=on");
        if (guest_is_windows(def))
                optstr_addf(&o, "hpet=off");
        return argv_push_option(b, "-machine", &o);
}

static int add_accel(struct argv_builder *b)
{
        struct optstr o = {0};
        /* Multi-threaded TCG gives each vCPU its own thread, which we can pin. */
        optstr_begin(&o, b->kvm ? "kvm" : "tcg,thread=multi");
        return argv_push_option(b, "-accel", &o);
}

static void add_hyperv_flags(struct argv_builder *b, struct optstr *o)
{
        const struct vmdef_hyperv *hv = &b->def->hyperv;
        if (!hv->enabled)
                return;
        static const struct {
                size_t offset;
                const char *flag;
        } flags[] = {
                /* the Hyper-V clock, libvirt's <timer name='hypervclock'> */
                {offsetof(struct vmdef_hyperv, time), "hv-time"},
                {offsetof(struct vmdef_hyperv, relaxed), "hv-relaxed"},
                {offsetof(struct vmdef_hyperv, vapic), "hv-vapic"},
                {offsetof(struct vmdef_hyperv, vpindex), "hv-vpindex"},
                {offsetof(struct vmdef_hyperv, runtime), "hv-runtime"},
                {offsetof(struct vmdef_hyperv, synic), "hv-synic"},
                {offsetof(struct vmdef_hyperv, stimer), "hv-stimer"},
                {offsetof(struct vmdef_hyperv, stimer_direct), "hv-stimer-direct"},
                {offsetof(struct vmdef_hyperv, reset), "hv-reset"},
                {offsetof(struct vmdef_hyperv, frequencies), "hv-frequencies"},
                {offsetof(struct vmdef_hyperv, reenlightenment), "hv-reenlightenment"},
                {offsetof(struct vmdef_hyperv, tlbflush), "hv-tlbflush"},
                {offsetof(struct vmdef_hyperv, tlbflush_ext), "hv-tlbflush-ext"},
                {offsetof(struct vmdef_hyperv, tlbflush_direct), "hv-tlbflush-direct"},
                {offsetof(struct vmdef_hyperv, ipi), "hv-ipi"},
                {offsetof(struct vmdef_hyperv, evmcs), "hv-evmcs"},
                {offsetof(struct vmdef_hyperv, avic), "hv-avic"},
                {offsetof(struct vmdef_hyperv, emsr_bitmap), "hv-emsr-bitmap"},
                {offsetof(struct vmdef_hyperv, xmm_input), "hv-xmm-input"},
        };
        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                if (*(const bool *)((const char *)hv + flags[i].offset))
                        optstr_addf(o, "%s=on", flags[i].flag);
                if (flags[i].offset == offsetof(struct vmdef_hyperv, vapic) && hv->spinlocks)
                        optstr_addf(o, "hv-spinlocks=%#x", hv->spinlocks);
        }
        if (hv->vendor_id)
                optstr_addf(o, "hv-vendor-id=%s", hv->vendor_id); /* checked: no comma */
}

/* [cpu] flags is a list by design ("+invtsc, -amd-stibp"): each item is appended as
 * one feature. The parser allows only letters, digits, '_', '.', '-', '=' and a
 * leading +/- in an item, so nothing here can reach another option. */
static void add_cpu_flags(const char *flags, struct optstr *o)
{
        for (const char *p = flags; p && *p;) {
                size_t n = strcspn(p, ", \t");
                if (n)
                        optstr_addf(o, "%.*s", (int)n, p);
                p += n;
                p += strspn(p, ", \t");
        }
}

static int add_cpu(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        const char *model = def->cpu_model ? def->cpu_model : "host";
        /* TCG has no "host" model; "max" is its closest (everything TCG can do). */
        if (!b->kvm && streq(model, "host"))
                model = "max";
        int r = argv_check_id(b, "[cpu] model", model, 64);
        if (r < 0)
                return r;
        /* x86 -cpu features are split on every comma, with no escape: refuse commas. */
        if (def->hyperv.vendor_id && strpbrk(def->hyperv.vendor_id, ",="))
                return vl_error_set(
                        b->err, 0,
                        "[hyperv] vendor_id '%s' contains ',' or '='; use up to 12 letters or digits",
                        def->hyperv.vendor_id);

        struct optstr o = {0};
        optstr_begin(&o, model);
        /* topoext lets an AMD guest see SMT siblings; TCG cannot emulate it. */
        if (def->topoext && b->kvm)
                optstr_addf(&o, "topoext=on");
        if (def->cache_passthrough)
                optstr_addf(&o, "host-cache-info=on");
        /* Hyper-V enlightenments and hiding KVM are KVM features; TCG refuses some. */
        if (b->kvm) {
                if (def->kvm_hidden)
                        optstr_addf(&o, "kvm=off");
                add_hyperv_flags(b, &o);
        }
        add_cpu_flags(def->cpu_flags, &o);
        return argv_push_option(b, "-cpu", &o);
}

/* Memory backend: libvirt (7.x, QEMU 7.2) puts hugepage-backed RAM in a
 * memory-backend-file under its own directory of the hugetlbfs mount for that
 * page size, and uses memory-backend-memfd,hugetlb=on,hugetlbsize= when the
 * domain asks for <source type='memfd'/>. We take the memfd form: it needs no
 * mount (systemd mounts only /dev/hugepages, with the *default* page size,
 * which is 1G when the kernel was booted with default_hugepagesz=1G, so
 * "/dev/hugepages" does not even say 2M), states the page size explicitly, and
 * leaves no file behind when QEMU is killed. The pool itself is reserved by
 * the host steps. prealloc faults every page in at start so the guest never
 * stalls on (or fails) a hugepage allocation later; VFIO pins it all anyway. */
static int add_memory(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        char size[32];
        format_size(def->memory_bytes, size);

        struct optstr m = {0};
        optstr_begin(&m, size);
        int r = argv_push_option(b, "-m", &m);
        if (r < 0)
                return r;

        struct optstr o = {0};
        if (def->hugepage_bytes) {
                char page[32];
                format_size(def->hugepage_bytes, page);
                optstr_begin(&o, "memory-backend-memfd,id=mem");
                optstr_addf(&o, "size=%s", size);
                optstr_addf(&o, "hugetlb=on,hugetlbsize=%s", page);
                optstr_addf(&o, "share=on");
        } else {
                optstr_begin(&o, "memory-backend-ram,id=mem");
                optstr_addf(&o, "size=%s", size);
        }
        /* libvirt's <numatune mode='strict'>: the pages come from the node the vCPUs
         * run on, where prepare reserved them. */
        if (b->opts->bind_numa_node)
                optstr_addf(&o, "host-nodes=%u,policy=bind", b->opts->numa_node);
        if (def->prealloc) {
                optstr_addf(&o, "prealloc=on");
                if (def->prealloc_threads)
                        optstr_addf(&o, "prealloc-threads=%u", def->prealloc_threads);
        }
        r = argv_push_option(b, "-object", &o);
        if (r < 0)
                return r;

        /* Like libvirt without <locked/>: VFIO already pins all guest RAM for DMA;
         * mem-lock=on would mlockall() QEMU's own memory as well, for nothing. */
        struct optstr lock = {0};
        optstr_begin(&lock, "mem-lock=off");
        return argv_push_option(b, "-overcommit", &lock);
}

/* The parser keeps every count at 1 or more. */
static int add_smp(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        struct optstr o = {0};
        optstr_addf(&o, "%u", vmdef_vcpu_count(def)); /* the count has no key */
        optstr_addf(&o, "sockets=%u,dies=%u,cores=%u,threads=%u", def->sockets, def->dies,
                    def->cores, def->threads);
        return argv_push_option(b, "-smp", &o);
}

static int add_iothreads(struct argv_builder *b)
{
        for (size_t i = 0; i < b->def->n_iothreads; i++) {
                const char *id = b->def->iothreads[i].id;
                int r = argv_check_id(b, "[iothreads] id", id, 64);
                if (r < 0)
                        return r;
                struct optstr o = {0};
                optstr_begin(&o, "iothread");
                optstr_addf(&o, "id=%s", id);
                r = argv_push_option(b, "-object", &o);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_display(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        /* The passed-through GPU is the guest's screen: no emulated one by default.
         * Both values come from a closed list checked by the definition parser. */
        int r = argv_push(b, "-display");
        if (r >= 0)
                r = argv_push(b, def->vnc_host || !def->display ? "none" : def->display);
        if (r >= 0 && def->vnc_host) {
                /* The address always explicit (QEMU's empty host is every address); the
                 * password goes over QMP while the guest is paused, never in argv. */
                struct optstr vnc = {0};
                bool v6 = strchr(def->vnc_host, ':') != NULL;
                optstr_addf(&vnc, "%s%s%s:%u", v6 ? "[" : "", def->vnc_host, v6 ? "]" : "",
                            def->vnc_display);
                if (def->vnc_password_file)
                        optstr_addf(&vnc, "password=on");
                r = argv_push_option(b, "-vnc", &vnc);
        }
        if (r >= 0)
                r = argv_push(b, "-vga");
        if (r >= 0)
                r = argv_push(b, def->vga ? def->vga : "none");
        /* No config files from /etc/qemu and no default devices: the command line
         * is the whole VM. */
        if (r >= 0)
                r = argv_push(b, "-no-user-config");
        if (r >= 0)
                r = argv_push(b, "-nodefaults");
        return r;
}

static int add_one_monitor(struct argv_builder *b, const char *id, int listen_fd)
{
        struct optstr chardev = {0};
        optstr_begin(&chardev, "socket");
        optstr_addf(&chardev, "id=%s", id);
        optstr_addf(&chardev, "fd=%d,server=on,wait=off", listen_fd);
        int r = argv_push_option(b, "-chardev", &chardev);
        if (r < 0)
                return r;
        struct optstr mon = {0};
        optstr_addf(&mon, "chardev=%s,mode=control", id);
        return argv_push_option(b, "-mon", &mon);
}

/* Two QMP monitors: ours (pinning, supervision) and one for `vmlaunch qmp`, so a
 * user's command can never interleave with the supervisor's conversation. */
static int add_monitors(struct argv_builder *b)
{
        int r = add_one_monitor(b, "qmp", QEMU_ARGV_FD_QMP);
        return r < 0 ? r : add_one_monitor(b, "ctl", QEMU_ARGV_FD_CTL);
}

static int add_sandbox(struct argv_builder *b)
{
        if (!b->def->qemu_sandbox)
                return 0;
        int r = argv_push(b, "-sandbox");
        return r < 0 ? r : argv_push(b, QEMU_ARGV_SANDBOX);
}

/* The guide's clock: virt-manager's Windows defaults as libvirt writes them.
 * rtc catchup -> driftfix=slew; hpet absent -> hpet=off (add_machine);
 * hypervclock -> [hyperv] time (add_hyperv_flags); pit delay -> -global
 * kvm-pit.lost_tick_policy (qemu_argv_platform.c, with the sleep states). */
static int add_clock(struct argv_builder *b)
{
        struct optstr o = {0};
        optstr_begin(&o, guest_is_windows(b->def) ? "base=localtime,driftfix=slew" : "base=utc");
        int r = argv_push_option(b, "-rtc", &o);
        if (r < 0)
                return r;
        struct optstr msg = {0};
        optstr_begin(&msg, "timestamp=on"); /* QEMU's own messages in the log get times */
        return argv_push_option(b, "-msg", &msg);
}

static int add_pflash_node(struct argv_builder *b, const char *node, const char *path,
                           bool read_only)
{
        struct optstr file = {0};
        optstr_begin(&file, "driver=file");
        optstr_add(&file, "filename", path);
        optstr_addf(&file, "node-name=%s-file,read-only=%s", node, read_only ? "on" : "off");
        int r = argv_push_option(b, "-blockdev", &file);
        if (r < 0)
                return r;
        struct optstr fmt = {0};
        optstr_begin(&fmt, "driver=raw");
        optstr_addf(&fmt, "file=%s-file,node-name=%s,read-only=%s", node, node,
                    read_only ? "on" : "off");
        return argv_push_option(b, "-blockdev", &fmt);
}

/* OVMF as two pflash chips (libvirt's pflash0/pflash1 blockdev pairs): the code
 * read-only and shared, the variables the VM's own writable copy. */
static int add_firmware(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        if (!uses_uefi_pflash(def))
                return 0; /* SeaBIOS is built into QEMU */
        if (!def->ovmf_code || !def->ovmf_vars)
                return vl_error_set(b->err, 0, "[firmware] type = uefi needs `code` and `vars`");
        int r = add_pflash_node(b, "ovmf-code", def->ovmf_code, true);
        if (r == 0)
                r = add_pflash_node(b, "ovmf-vars", def->ovmf_vars, false);
        /* libvirt's <loader secure='yes'>: without it the guest OS could write the
         * Secure Boot variables directly and the keys would protect nothing. */
        if (r == 0 && b->opts->firmware_secure) {
                r = argv_push(b, "-global");
                if (r == 0)
                        r = argv_push(b, "driver=cfi.pflash01,property=secure,value=on");
        }
        return r;
}

/* -kernel/-initrd/-append take their value whole (QEMU stores it as one machine
 * property, no key=value parsing), so they are not comma-escaped:
 * "console=ttyS0,115200" must reach the guest as written. */
static int add_kernel(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        const struct {
                const char *flag, *value;
        } parts[] = {{"-kernel", def->kernel}, {"-initrd", def->initrd}, {"-append", def->cmdline}};
        if (!def->kernel && (def->initrd || def->cmdline))
                return vl_error_set(b->err, 0, "[boot] initrd and cmdline need `kernel`");
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                if (!parts[i].value)
                        continue;
                int r = argv_push(b, parts[i].flag);
                if (r >= 0)
                        r = argv_push(b, parts[i].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_serial(struct argv_builder *b)
{
        const char *serial = b->def->serial;
        if (!serial || streq(serial, "none"))
                return 0;
        if (streq(serial, "pty")) {
                int r = argv_push(b, "-serial");
                return r < 0 ? r : argv_push(b, "pty");
        }
        struct optstr chardev = {0};
        optstr_begin(&chardev, "file,id=serial0");
        optstr_add(&chardev, "path", serial);
        int r = argv_push_option(b, "-chardev", &chardev);
        if (r < 0)
                return r;
        struct optstr dev = {0};
        optstr_begin(&dev, "chardev:serial0");
        return argv_push_option(b, "-serial", &dev);
}

static int add_extra_args(struct argv_builder *b)
{
        for (size_t i = 0; b->def->extra_args && b->def->extra_args[i]; i++) {
                int r = argv_push(b, b->def->extra_args[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int qemu_argv_build(const struct vm_def *def, const struct qemu_argv_opts *opts,
                    struct vl_strv *argv, struct vl_error *err)
{
        static const struct qemu_argv_opts no_opts = {0};
        struct argv_builder b = {
                .def = def,
                .opts = opts ? opts : &no_opts,
                .argv = argv,
                .err = err,
        };
        b.kvm = b.opts->accel != VMDEF_ACCEL_TCG;
        if (!def->name || !*def->name)
                return vl_error_set(err, 0, "[vm] name is empty");
        if (!def->memory_bytes)
                return vl_error_set(err, 0, "[memory] size is 0");
        /* An option this QEMU lacks is refused here, feature named, not by QEMU. */
        if (b.opts->qemu_version && qemu_compat_check(def, b.opts->qemu_version, err) < 0)
                return -ENOTSUP;

        /* In the order a reader expects: identity, machine, CPU, memory, plumbing,
         * firmware and boot, then devices (the GPU first: its root port takes a
         * fixed slot before QEMU hands slots out), extra args last so they win. */
        int (*const families[])(struct argv_builder *) = {
                add_name,          add_machine,    add_accel,
                add_cpu,           add_memory,     add_smp,
                add_iothreads,     add_display,    add_monitors,
                add_sandbox,       add_clock,      add_firmware,
                argv_add_platform, add_kernel,     argv_add_gpu,
                argv_add_disks,    argv_add_usb,   argv_add_evdev,
                argv_add_net,      argv_add_tpm,   argv_add_guest_agent,
                add_serial,        add_extra_args,
        };
        int r = argv_push(&b, def->qemu_binary);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(families); i++)
                r = families[i](&b);
        if (r < 0)
                vl_strv_free(argv);
        return r;
}
