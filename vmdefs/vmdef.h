/* VM definitions: an INI file -> struct vm_def, validated without touching the host.
 *
 * The INI layout (every key has a default; unknown sections/keys are errors;
 * a key given twice in one section is an error). Sections named `kind.ID`
 * may appear several times with different IDs.
 *
 *   [vm]        name, description
 *   [qemu]      binary, machine, accel (auto|kvm|tcg), display (none|gtk|sdl|vnc=:N|
 *               vnc=ADDR:N), vnc_password_file (root-only file, needed off loopback),
 *               vga (none|std|virtio), serial (none|pty|PATH), args (extra argv,
 *               shell-like words, no shell), shutdown_timeout (seconds),
 *               user (QEMU's user, default vmlaunch-qemu), sandbox (bool, default yes),
 *               pit_lost_tick_policy (auto|delay|discard), suspend_to_ram,
 *               suspend_to_disk (auto|bool): auto follows [hyperv] enabled
 *   [memory]    size (12G, 12288M, ...), hugepages (off|2M|1G), prealloc (bool),
 *               prealloc_threads (N), allocate_hugepages (bool: reserve the pool at run)
 *   [firmware]  type (uefi|bios), secure_boot, code, vars_template, vars (per-VM copy)
 *   [boot]      kernel, initrd, cmdline (direct kernel boot, optional)
 *   [cpu]       model (host|QEMU model), sockets, dies, cores, threads, topoext,
 *               cache_passthrough, kvm_hidden, flags (extra "+x,-y"),
 *               vcpu_pin (CPU list: vCPU n -> nth CPU, or "auto"), emulator_pin (CPU list)
 *   [hyperv]    enabled, relaxed, vapic, spinlocks (retries or off), vpindex, synic,
 *               time, stimer, stimer_direct, reset, vendor_id, frequencies, runtime,
 *               tlbflush, ipi, reenlightenment, evmcs, avic, xmm_input, tlbflush_ext,
 *               tlbflush_direct, emsr_bitmap
 *   [iothreads] ID = CPU list (one key per iothread; empty value = unpinned)
 *   [disk.ID]   path, format (qcow2|raw), bus (virtio-blk|virtio-scsi|sata),
 *               media (disk|cdrom), iothread (ID), boot (order), cache, aio, discard,
 *               readonly, serial
 *   [gpu]       address (06:00.0 or 0000:06:00.0), romfile, group (expected IOMMU
 *               group members; the host's group wins at run time, a mismatch is an error),
 *               reset_method (auto | the kernel's reset methods)
 *   [usb.ID]    vendor, product (hex IDs) -> usb-host
 *   [evdev.ID]  path (/dev/input/by-id/...), grab_all, repeat, grab_toggle
 *   [net.ID]    mode (user|bridge), bridge, model, mac
 *   [host]      stop_units, vtconsoles (auto|off), framebuffer (auto|off),
 *               unload_modules (auto|off|list), governor (performance|...|off),
 *               governor_cpus (pinned|all), isolate_cpus (bool)
 *   [hooks]     dir, timeout (seconds)
 *   [smbios]    mode (none|host: the host's DMI strings for SMBIOS types 0-3)
 *   [tpm]       enabled, state_dir
 *   [guest]     agent (bool: a virtio-serial port for qemu-guest-agent)
 *   [session]   ready (running|agent|tcp:PORT|tcp:HOST:PORT: when READY=1 goes to
 *               systemd), ready_timeout (seconds, 0: none), wake_on_lan (bool)
 *
 * The exact key list, defaults and error texts live in vmdefs/keys.c and in
 * doc/vmlaunch.ini.5.scd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* [session] ready: what "the session is usable" means. */
enum vmdef_ready {
        VMDEF_READY_RUNNING, /* the guest runs, every thread pinned */
        VMDEF_READY_AGENT,   /* qemu-guest-agent answered guest-ping */
        VMDEF_READY_TCP,     /* a TCP port in the guest accepts connections */
};

/* [qemu] binary when the definition names none: looked up in PATH. */
#define VMDEF_DEFAULT_QEMU_BINARY "qemu-system-x86_64"
/* The system user QEMU runs as: systemd/sysusers.d/vmlaunch.conf creates it. */
#define VMDEF_DEFAULT_QEMU_USER "vmlaunch-qemu"

/* Longest IDs QEMU takes where vmlaunch puts them (qemu/qemu_argv*.c builds them;
 * the definition is refused at load time so check, plan and run agree):
 * "disk-ID-storage" is a block node name (31 at most), "usb-ID", "net-ID-dev",
 * "evdev-ID" are device and object ids, iothreads are object ids. */
#define VMDEF_DISK_ID_MAX     18
#define VMDEF_DEVICE_ID_MAX   60
#define VMDEF_IOTHREAD_ID_MAX 64
/* q35's built-in AHCI controller has six ports (ide.0 to ide.5). */
#define VMDEF_SATA_PORTS 6
/* One PCI slot holds at most 8 functions: the GPU's whole group goes into one. */
#define VMDEF_GPU_FUNCTIONS_MAX 8

/* VNC authentication is DES with an 8-byte key: QEMU uses at most 8 characters. */
#define VMDEF_VNC_PASSWORD_MAX 8

/* The chardev ids vmlaunch gives QEMU (its two QMP monitors, the serial log), NULL
 * terminated: a -chardev in [qemu] args may not reuse them. */
extern const char *const vmdef_owned_chardev_ids[];

/* An ordered list of host CPUs, as written ("0-3,8" -> 0 1 2 3 8). */
struct vmdef_cpulist {
        size_t count;
        unsigned *cpus;
        size_t cap; /* allocated items of cpus */
};

/* A PCI address; domain defaults to 0 when the definition omits it. */
struct vmdef_pci_addr {
        unsigned domain, bus, slot, function;
};

enum vmdef_accel { VMDEF_ACCEL_AUTO, VMDEF_ACCEL_KVM, VMDEF_ACCEL_TCG };
enum vmdef_firmware { VMDEF_FIRMWARE_UEFI, VMDEF_FIRMWARE_BIOS };
enum vmdef_disk_format { VMDEF_FORMAT_QCOW2, VMDEF_FORMAT_RAW };
enum vmdef_disk_bus { VMDEF_BUS_VIRTIO_BLK, VMDEF_BUS_VIRTIO_SCSI, VMDEF_BUS_SATA };
enum vmdef_disk_media { VMDEF_MEDIA_DISK, VMDEF_MEDIA_CDROM };
enum vmdef_disk_cache {
        VMDEF_CACHE_NONE,
        VMDEF_CACHE_WRITEBACK,
        VMDEF_CACHE_WRITETHROUGH,
        VMDEF_CACHE_DIRECTSYNC,
        VMDEF_CACHE_UNSAFE
};
enum vmdef_disk_aio { VMDEF_AIO_NATIVE, VMDEF_AIO_THREADS, VMDEF_AIO_IO_URING };

/* True when the cache mode opens the image with O_DIRECT (none, directsync). */
bool vmdef_cache_is_direct(enum vmdef_disk_cache cache);
/* aio = native works only with O_DIRECT (QEMU refuses it otherwise): the rule that
 * validation enforces and the QEMU command line relies on. */
bool vmdef_disk_aio_fits_cache(enum vmdef_disk_aio aio, enum vmdef_disk_cache cache);
enum vmdef_disk_discard { VMDEF_DISCARD_UNMAP, VMDEF_DISCARD_IGNORE };
enum vmdef_net_mode { VMDEF_NET_USER, VMDEF_NET_BRIDGE };
enum vmdef_auto_off { VMDEF_AUTO, VMDEF_OFF };
enum vmdef_modules_mode { VMDEF_MODULES_AUTO, VMDEF_MODULES_OFF, VMDEF_MODULES_LIST };
enum vmdef_governor_cpus { VMDEF_GOVERNOR_PINNED, VMDEF_GOVERNOR_ALL };
/* [qemu] pit_lost_tick_policy: kvm-pit knows only delay and discard. AUTO: delay for a
 * Windows guest ([hyperv] enabled), QEMU's own default otherwise. */
enum vmdef_pit_policy { VMDEF_PIT_AUTO, VMDEF_PIT_DELAY, VMDEF_PIT_DISCARD };
/* [qemu] suspend_to_ram / suspend_to_disk. AUTO: off for a Windows guest, QEMU's
 * default (offered) otherwise. */
enum vmdef_guest_sleep { VMDEF_SLEEP_AUTO, VMDEF_SLEEP_OFF, VMDEF_SLEEP_ON };
enum vmdef_smbios_mode { VMDEF_SMBIOS_NONE, VMDEF_SMBIOS_HOST };

struct vmdef_iothread {
        char *id;
        struct vmdef_cpulist pin; /* empty: inherits the emulator's CPUs */
        unsigned line;
};

struct vmdef_disk {
        char *id;
        char *path;
        enum vmdef_disk_format format;
        enum vmdef_disk_bus bus;
        enum vmdef_disk_media media;
        char *iothread; /* NULL: none */
        unsigned boot;  /* boot order, 0: not bootable */
        enum vmdef_disk_cache cache;
        enum vmdef_disk_aio aio;
        enum vmdef_disk_discard discard;
        bool readonly;
        char *serial;
        unsigned line;      /* of the section header */
        unsigned path_line; /* of its path key */
};

struct vmdef_usb {
        char *id;
        uint16_t vendor, product;
        unsigned line;
};

struct vmdef_evdev {
        char *id;
        char *path;
        bool grab_all, repeat;
        char *grab_toggle; /* e.g. "ctrl-ctrl" */
        unsigned line, path_line;
};

struct vmdef_net {
        char *id;
        enum vmdef_net_mode mode;
        char *bridge;
        char *model; /* QEMU device, default virtio-net-pci */
        char *mac;   /* NULL: QEMU picks */
        unsigned line;
};

struct vmdef_hyperv {
        bool enabled;
        bool relaxed, vapic, vpindex, synic, stimer, stimer_direct, reset, frequencies;
        bool time; /* hv-time, the "hypervclock" timer; stimer needs it */
        bool runtime, tlbflush, ipi, reenlightenment, evmcs, avic, xmm_input;
        bool tlbflush_ext, tlbflush_direct, emsr_bitmap;
        unsigned spinlocks; /* retries; 0: off */
        char *vendor_id;    /* NULL: not set; at most 12 characters */
};

struct vm_def {
        char *path; /* the file it was read from */
        char *name;
        char *description;

        /* [qemu] */
        char *qemu_binary; /* never NULL once loaded: VMDEF_DEFAULT_QEMU_BINARY */
        char *qemu_user;   /* never NULL once loaded: VMDEF_DEFAULT_QEMU_USER; "root" allowed */
        bool qemu_sandbox; /* -sandbox on,...deny (default yes) */
        char *machine;
        enum vmdef_accel accel;
        char *display;
        char *vnc_host;          /* display = vnc=...: the address as an IP literal, else NULL */
        unsigned vnc_display;    /* N of vnc=ADDR:N: TCP port 5900 + N */
        bool vnc_loopback;       /* vnc_host is 127.0.0.0/8 or ::1 */
        char *vnc_password_file; /* NULL: no password (allowed on loopback only) */
        char *vga;
        char *serial;
        char **extra_args; /* NULL-terminated */
        size_t n_extra_args;
        unsigned shutdown_timeout_s;
        enum vmdef_pit_policy pit_policy;
        enum vmdef_guest_sleep suspend_to_ram, suspend_to_disk;

        /* [memory] */
        uint64_t memory_bytes;
        uint64_t hugepage_bytes; /* 0: no hugepages */
        bool prealloc;
        unsigned prealloc_threads; /* 0: QEMU's default */
        bool allocate_hugepages;

        /* [firmware] */
        enum vmdef_firmware firmware;
        bool secure_boot;
        /* NULL unless given: the run then takes them from QEMU's firmware descriptors
         * (run/firmware_choice.c). */
        char *ovmf_code;
        char *ovmf_vars_template;
        char *ovmf_vars;

        /* [boot] */
        char *kernel, *initrd, *cmdline;

        /* [cpu] */
        char *cpu_model;
        unsigned sockets, dies, cores, threads;
        bool topoext, cache_passthrough, kvm_hidden;
        char *cpu_flags; /* extra "+x,-y", appended as given */
        bool vcpu_pin_auto;
        struct vmdef_cpulist vcpu_pin;     /* empty: unpinned */
        struct vmdef_cpulist emulator_pin; /* empty: unpinned */

        struct vmdef_hyperv hyperv;

        struct vmdef_iothread *iothreads;
        size_t n_iothreads;
        struct vmdef_disk *disks;
        size_t n_disks;

        /* [gpu] */
        bool has_gpu;
        struct vmdef_pci_addr gpu_address;
        char *gpu_romfile;
        struct vmdef_pci_addr *gpu_group; /* as written in `group`, may be empty */
        size_t n_gpu_group;
        /* "auto" or the kernel's reset methods, space-separated, written to each
         * function's reset_method for the run; NULL: the kernel's list is left alone */
        char *gpu_reset_method;

        struct vmdef_usb *usb;
        size_t n_usb;
        struct vmdef_evdev *evdev;
        size_t n_evdev;
        struct vmdef_net *nets;
        size_t n_nets;

        /* [host] */
        char **stop_units; /* NULL-terminated */
        size_t n_stop_units;
        enum vmdef_auto_off vtconsoles, framebuffer;
        enum vmdef_modules_mode modules_mode;
        char **unload_modules; /* when modules_mode == LIST, NULL-terminated */
        size_t n_unload_modules;
        char *governor; /* NULL: leave the governor alone */
        enum vmdef_governor_cpus governor_cpus;
        bool isolate_cpus;

        /* [hooks] */
        char *hooks_dir;
        unsigned hooks_timeout_s; /* a hook still running then is killed */

        /* [smbios] */
        enum vmdef_smbios_mode smbios_mode;

        /* [tpm]: a TPM 2.0 emulated by swtpm, its state kept in tpm_state_dir
         * (default /var/lib/vmlaunch/NAME/tpm, set by validation when enabled). */
        bool tpm_enabled;
        char *tpm_state_dir;

        /* [guest] */
        bool guest_agent; /* org.qemu.guest_agent.0 on RUN_DIR/agent.sock */

        /* [session]: when the session is usable (READY=1), and waking it. */
        enum vmdef_ready ready;
        char *ready_host; /* VMDEF_READY_TCP: NULL = the guest's address from the agent */
        unsigned ready_port;
        unsigned ready_timeout_s; /* 0: wait as long as it takes */
        bool wake_on_lan;         /* a magic packet to a [net.ID] mac starts the unit */

        /* Where each key was written, for problems found after parsing (host checks). */
        struct vmdef_key_line *key_lines;
        size_t n_key_lines;
};

struct vmdef_key_line {
        char *section, *key;
        unsigned line;
};

unsigned vmdef_vcpu_count(const struct vm_def *def);

/* Line of `key` in `[section]` in the definition's file; 0 when it was not written
 * (the default applies), so a diagnostic about it has no line. */
unsigned vmdef_key_line(const struct vm_def *def, const char *section, const char *key);

/* One problem found in a definition. Printed as
 *   FILE:LINE: [section] key: what is wrong; what is expected
 * (line 0 and empty section/key are left out for file-level problems). */
enum vmdef_severity { VMDEF_ERROR, VMDEF_WARNING };
struct vmdef_diag {
        enum vmdef_severity severity;
        unsigned line;
        char section[64];
        char key[64];
        char msg[512];
};

struct vmdef_diags {
        struct vmdef_diag *items;
        size_t count, cap;
        size_t n_errors;
};

/* Formats one diagnostic in the one-line form above. */
void vmdef_diag_format(const struct vmdef_diag *d, const char *file, char *buf, size_t len);
void vmdef_diags_free(struct vmdef_diags *diags);
/* Adds one diagnostic (also used by later stages that find problems with a definition
 * on this host: pins, accelerator, GPU group). At most 200 are kept, the last of them
 * saying that more follow; n_errors counts every error. */
void vmdef_diag_add(struct vmdef_diags *diags, enum vmdef_severity severity, unsigned line,
                    const char *section, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

/* Options that change what the loader accepts. */
struct vmdef_load_opts {
        /* Skip the "owned by root, not writable by group/others" check. Honoured
         * only when the caller is not root (tests run unprivileged). */
        bool allow_unsafe_owner;
        /* Directory searched for NAME.ini when a bare name is given. */
        const char *config_dir; /* NULL: /etc/vmlaunch */
};

/* Resolves NAME or FILE to a path: anything with a '/' or ending in ".ini" is a path,
 * otherwise CONFIG_DIR/NAME.ini. Returns a malloc'd string or NULL on ENOMEM. */
char *vmdef_resolve_path(const char *name_or_file, const char *config_dir);

/* Reads, parses and validates a definition. Pure apart from reading the file:
 * never touches the host. On return *out is set when there were no errors;
 * diags holds every error and warning found. Returns 0, or -EINVAL when diags
 * holds errors, or another -errno. */
int vmdef_load(const char *path, const struct vmdef_load_opts *opts, struct vm_def **out,
               struct vmdef_diags *diags);

/* Parses and validates INI text already in memory (used by vmdef_load and tests).
 * `path` is only used to derive the default name. */
int vmdef_parse_string(const char *path, const char *text, size_t len, struct vm_def **out,
                       struct vmdef_diags *diags);

/* Host checks that `check` and `run` make and `plan` only warns about: files that
 * must exist (disk images, firmware, ROM files, kernel/initrd, evdev nodes).
 * Adds one diagnostic per missing file with the given severity. */
void vmdef_check_files(const struct vm_def *def, enum vmdef_severity severity,
                       struct vmdef_diags *diags);

/* Reads [qemu] vnc_password_file as root reads a secret: the file itself (no symlink),
 * regular, owned by root, neither readable nor writable by group or others, holding 1
 * to VMDEF_VNC_PASSWORD_MAX printable ASCII characters (one trailing newline allowed).
 * Returns 0 with the password in pw, or -errno with the reason in why. */
int vmdef_read_vnc_password(const char *path, char pw[static VMDEF_VNC_PASSWORD_MAX + 1], char *why,
                            size_t why_len);

void vmdef_free(struct vm_def *def);

/* Value parsers, exposed for tests and for other modules (CLI options).
 * Each returns 0 or -EINVAL and writes a reason ("what is expected") to why. */
int vmdef_parse_size(const char *s, uint64_t *bytes, char *why, size_t why_len);
int vmdef_parse_cpulist(const char *s, struct vmdef_cpulist *out, char *why, size_t why_len);
int vmdef_parse_pci_addr(const char *s, struct vmdef_pci_addr *out, char *why, size_t why_len);
int vmdef_parse_bool(const char *s, bool *out, char *why, size_t why_len);
void vmdef_cpulist_free(struct vmdef_cpulist *l);
/* Formats CPUs in the given order, folding ascending runs: {2,3,4,8,1} -> "2-4,8,1",
 * which vmdef_parse_cpulist reads back in the same order. "" for none. */
void vmdef_cpulist_format(const unsigned *cpus, size_t n, char *buf, size_t len);
/* Appends one CPU (no duplicate check). Returns 0 or -ENOMEM. */
int vmdef_cpulist_append(struct vmdef_cpulist *l, unsigned cpu);
/* "0000:06:00.0" */
void vmdef_pci_addr_format(const struct vmdef_pci_addr *a, char buf[static 16]);
