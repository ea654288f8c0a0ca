/* The QEMU command line, devices: GPU, disks, USB, evdev input, network.
 * libvirt equivalents (tests/qemuxmlconfdata): hostdev-vfio, hostdev-vfio-multidomain,
 * pcie-root-port, disk-virtio, disk-cache, disk-aio, disk-discard, iothreads-disk,
 * hostdev-usb-address, input-linux, net-user, net-bridge. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qemu/qemu_argv_internal.h"

/* QEMU limits node names (and so our ids inside them) to 31 characters. */
#define QEMU_NODE_NAME_MAX 31
#define GPU_FUNCTIONS_MAX  8
#define Q35_SATA_PORTS     6

static bool pci_addr_equal(const struct vmdef_pci_addr *a, const struct vmdef_pci_addr *b)
{
        return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot &&
               a->function == b->function;
}

static int add_vfio_function(struct argv_builder *b, const struct vmdef_pci_addr *host,
                             unsigned guest_function, bool multifunction, const char *romfile)
{
        char address[16];
        vmdef_pci_addr_format(host, address);
        struct optstr o = {0};
        optstr_begin(&o, "vfio-pci");
        optstr_addf(&o, "host=%s,id=gpu%u,bus=gpu-port", address, guest_function);
        if (guest_function == 0)
                optstr_addf(&o, "addr=0x0");
        else
                optstr_addf(&o, "addr=0x0.0x%x", guest_function);
        if (multifunction)
                optstr_addf(&o, "multifunction=on");
        if (romfile)
                optstr_add(&o, "romfile", romfile);
        return argv_push_option(b, "-device", &o);
}

/* The GPU and everything in its IOMMU group (audio, USB-C, ...), as the functions
 * of one device behind its own PCIe root port, like on real hardware: drivers
 * (NVIDIA's audio/GPU pairing, AMD's reset quirks) expect that layout. The
 * device named in [gpu] address becomes function 0 and gets the VBIOS romfile. */
int argv_add_gpu(struct argv_builder *b)
{
        const struct vm_def *def = b->def;
        if (!def->has_gpu)
                return 0;

        const struct vmdef_pci_addr *group = b->opts->gpu_group;
        size_t n = b->opts->n_gpu_group;
        if (!group) {
                group = def->n_gpu_group ? def->gpu_group : &def->gpu_address;
                n = def->n_gpu_group ? def->n_gpu_group : 1;
        }
        bool gpu_in_group = false;
        for (size_t i = 0; i < n; i++)
                gpu_in_group |= pci_addr_equal(&group[i], &def->gpu_address);
        char gpu[16];
        vmdef_pci_addr_format(&def->gpu_address, gpu);
        if (!gpu_in_group)
                return vl_error_set(
                        b->err, 0,
                        "[gpu] address %s is not in its own IOMMU group list; add it to `group`",
                        gpu);
        if (n > GPU_FUNCTIONS_MAX)
                return vl_error_set(
                        b->err, 0,
                        "[gpu] the IOMMU group of %s has %zu devices; one PCI slot holds at most %d functions",
                        gpu, n, GPU_FUNCTIONS_MAX);

        struct optstr port = {0};
        optstr_begin(&port, "pcie-root-port");
        /* A fixed slot keeps the guest's view stable from one boot to the next. */
        optstr_addf(&port, "id=gpu-port,chassis=1,port=0x10,bus=pcie.0,addr=0x2");
        int r = argv_push_option(b, "-device", &port);
        if (r < 0)
                return r;

        bool multifunction = n > 1;
        r = add_vfio_function(b, &def->gpu_address, 0, multifunction, def->gpu_romfile);
        unsigned next_function = 1;
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (!pci_addr_equal(&group[i], &def->gpu_address))
                        r = add_vfio_function(b, &group[i], next_function++, false, NULL);
        return r;
}

/* libvirt's cache modes as the three knobs QEMU has (qemu-system-x86_64(1), -drive cache=). */
struct cache_knobs {
        bool direct, no_flush, write_cache;
};

static struct cache_knobs cache_knobs(enum vmdef_disk_cache cache)
{
        switch (cache) {
        case VMDEF_CACHE_NONE:
                return (struct cache_knobs){.direct = true, .write_cache = true};
        case VMDEF_CACHE_WRITEBACK:
                return (struct cache_knobs){.write_cache = true};
        case VMDEF_CACHE_WRITETHROUGH:
                return (struct cache_knobs){0};
        case VMDEF_CACHE_DIRECTSYNC:
                return (struct cache_knobs){.direct = true};
        case VMDEF_CACHE_UNSAFE:
                return (struct cache_knobs){.no_flush = true, .write_cache = true};
        }
        return (struct cache_knobs){.direct = true, .write_cache = true};
}

static const char *aio_name(enum vmdef_disk_aio aio)
{
        switch (aio) {
        case VMDEF_AIO_NATIVE:
                return "native";
        case VMDEF_AIO_IO_URING:
                return "io_uring";
        case VMDEF_AIO_THREADS:
                break;
        }
        return "threads";
}

static bool disk_is_readonly(const struct vmdef_disk *disk)
{
        return disk->readonly || disk->media == VMDEF_MEDIA_CDROM;
}

/* What both nodes of a disk say alike: cache mode, discard, read-only; then pushed. */
static int push_disk_node(struct argv_builder *b, struct optstr *o, const struct vmdef_disk *disk,
                          struct cache_knobs cache)
{
        optstr_addf(o, "cache.direct=%s,cache.no-flush=%s", cache.direct ? "on" : "off",
                    cache.no_flush ? "on" : "off");
        optstr_addf(o, "discard=%s", disk->discard == VMDEF_DISCARD_UNMAP ? "unmap" : "ignore");
        optstr_addf(o, "read-only=%s", disk_is_readonly(disk) ? "on" : "off");
        return argv_push_option(b, "-blockdev", o);
}

/* The protocol node: the file or block device itself. */
static int add_disk_storage_node(struct argv_builder *b, const struct vmdef_disk *disk,
                                 struct cache_knobs cache)
{
        /* libvirt decides by <disk type='block'>; a path under /dev says the same
         * without looking at the host. */
        bool block_device = !strncmp(disk->path, "/dev/", 5);
        const char *driver = !block_device                      ? "file"
                             : disk->media == VMDEF_MEDIA_CDROM ? "host_cdrom"
                                                                : "host_device";
        struct optstr o = {0};
        optstr_addf(&o, "driver=%s", driver);
        optstr_add(&o, "filename", disk->path);
        optstr_addf(&o, "node-name=disk-%s-storage", disk->id);
        optstr_addf(&o, "aio=%s", aio_name(disk->aio));
        return push_disk_node(b, &o, disk, cache);
}

/* The format node (qcow2 or raw) on top; the device attaches to this one. */
static int add_disk_format_node(struct argv_builder *b, const struct vmdef_disk *disk,
                                struct cache_knobs cache)
{
        struct optstr o = {0};
        optstr_addf(&o, "driver=%s", disk->format == VMDEF_FORMAT_QCOW2 ? "qcow2" : "raw");
        optstr_addf(&o, "file=disk-%s-storage,node-name=disk-%s", disk->id, disk->id);
        return push_disk_node(b, &o, disk, cache);
}

static int add_disk_device(struct argv_builder *b, const struct vmdef_disk *disk,
                           struct cache_knobs cache, unsigned *sata_port)
{
        bool cdrom = disk->media == VMDEF_MEDIA_CDROM;
        struct optstr o = {0};
        int r;
        switch (disk->bus) {
        case VMDEF_BUS_VIRTIO_BLK:
                if (cdrom)
                        return vl_error_set(
                                b->err, 0,
                                "[disk.%s] media = cdrom needs bus = sata or virtio-scsi",
                                disk->id);
                optstr_begin(&o, "virtio-blk-pci");
                if (disk->iothread)
                        optstr_addf(&o, "iothread=%s", disk->iothread);
                break;
        case VMDEF_BUS_VIRTIO_SCSI: {
                /* One controller per disk: the controller is what runs in the iothread. */
                struct optstr ctl = {0};
                optstr_begin(&ctl, "virtio-scsi-pci");
                optstr_addf(&ctl, "id=scsi-%s", disk->id);
                if (disk->iothread)
                        optstr_addf(&ctl, "iothread=%s", disk->iothread);
                r = argv_push_option(b, "-device", &ctl);
                if (r < 0)
                        return r;
                optstr_begin(&o, cdrom ? "scsi-cd" : "scsi-hd");
                optstr_addf(&o, "bus=scsi-%s.0", disk->id);
                break;
        }
        case VMDEF_BUS_SATA:
                /* q35's built-in AHCI controller: buses ide.0 to ide.5, one disk each. */
                if (*sata_port >= Q35_SATA_PORTS)
                        return vl_error_set(
                                b->err, 0,
                                "[disk.%s] q35 has %d SATA ports and they are all taken; use virtio-blk or virtio-scsi",
                                disk->id, Q35_SATA_PORTS);
                /* QEMU's ide-hd refuses a read-only drive ("Block node is read-only");
                 * only ide-cd may be read-only. libvirt refuses the same. */
                if (!cdrom && disk->readonly)
                        return vl_error_set(
                                b->err, 0,
                                "[disk.%s] readonly = yes needs bus = virtio-blk or virtio-scsi (QEMU has no read-only SATA disk) or media = cdrom",
                                disk->id);
                optstr_begin(&o, cdrom ? "ide-cd" : "ide-hd");
                optstr_addf(&o, "bus=ide.%u", (*sata_port)++);
                break;
        }
        optstr_addf(&o, "drive=disk-%s,id=disk-%s-dev", disk->id, disk->id);
        if (disk->boot)
                optstr_addf(&o, "bootindex=%u", disk->boot);
        if (!cdrom)
                optstr_addf(&o, "write-cache=%s", cache.write_cache ? "on" : "off");
        if (disk->serial)
                optstr_add(&o, "serial", disk->serial);
        return argv_push_option(b, "-device", &o);
}

static int check_disk(struct argv_builder *b, const struct vmdef_disk *disk)
{
        /* "disk-" ID "-storage" must fit in a node name. */
        int r = argv_check_id(b, "[disk.ID] section id", disk->id,
                              QEMU_NODE_NAME_MAX - strlen("disk--storage"));
        if (r < 0)
                return r;
        if (disk->iothread) {
                r = argv_check_id(b, "[disk] iothread", disk->iothread, 64);
                if (r < 0)
                        return r;
        }
        if (!disk->path || !*disk->path)
                return vl_error_set(b->err, 0, "[disk.%s] path is empty", disk->id);
        if (!vmdef_disk_aio_fits_cache(disk->aio, disk->cache))
                return vl_error_set(
                        b->err, 0,
                        "[disk.%s] aio = native needs cache = none or directsync (QEMU refuses it otherwise)",
                        disk->id);
        return 0;
}

/* Modern -blockdev node pairs (libvirt >= 6 style), then the guest device. */
int argv_add_disks(struct argv_builder *b)
{
        unsigned sata_port = 0;
        for (size_t i = 0; i < b->def->n_disks; i++) {
                const struct vmdef_disk *disk = &b->def->disks[i];
                struct cache_knobs cache = cache_knobs(disk->cache);
                int r = check_disk(b, disk);
                if (r >= 0)
                        r = add_disk_storage_node(b, disk, cache);
                if (r >= 0)
                        r = add_disk_format_node(b, disk, cache);
                if (r >= 0)
                        r = add_disk_device(b, disk, cache, &sata_port);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Host USB devices by vendor:product on a USB 3 controller with 15 ports of each
 * speed (what virt-manager gives a new VM). */
int argv_add_usb(struct argv_builder *b)
{
        if (!b->def->n_usb)
                return 0;
        struct optstr xhci = {0};
        optstr_begin(&xhci, "qemu-xhci");
        optstr_addf(&xhci, "id=xhci,p2=15,p3=15");
        int r = argv_push_option(b, "-device", &xhci);
        for (size_t i = 0; r >= 0 && i < b->def->n_usb; i++) {
                const struct vmdef_usb *usb = &b->def->usb[i];
                r = argv_check_id(b, "[usb.ID] section id", usb->id, 60);
                if (r < 0)
                        return r;
                struct optstr o = {0};
                optstr_begin(&o, "usb-host");
                optstr_addf(&o, "bus=xhci.0,vendorid=0x%04x,productid=0x%04x,id=usb-%s",
                            usb->vendor, usb->product, usb->id);
                r = argv_push_option(b, "-device", &o);
        }
        return r;
}

/* evdev passthrough: QEMU reads the host's keyboard/mouse event node and feeds
 * the guest's PS/2 devices (built into q35: no guest driver needed). Pressing
 * grab_toggle switches the devices between host and guest. */
int argv_add_evdev(struct argv_builder *b)
{
        for (size_t i = 0; i < b->def->n_evdev; i++) {
                const struct vmdef_evdev *ev = &b->def->evdev[i];
                int r = argv_check_id(b, "[evdev.ID] section id", ev->id, 60);
                if (r < 0)
                        return r;
                struct optstr o = {0};
                optstr_begin(&o, "input-linux");
                optstr_addf(&o, "id=evdev-%s", ev->id);
                optstr_add(&o, "evdev", ev->path);
                if (ev->grab_all)
                        optstr_addf(&o, "grab_all=on");
                if (ev->repeat)
                        optstr_addf(&o, "repeat=on");
                if (ev->grab_toggle)
                        optstr_add(&o, "grab-toggle", ev->grab_toggle);
                r = argv_push_option(b, "-object", &o);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* user: QEMU's own NAT, no host change. bridge: a tap vmlaunch opened on the
 * existing bridge, passed as a descriptor (see QEMU_ARGV_FD_TAP). */
int argv_add_net(struct argv_builder *b)
{
        size_t n_bridged = 0;
        for (size_t i = 0; i < b->def->n_nets; i++) {
                const struct vmdef_net *net = &b->def->nets[i];
                const char *model = net->model ? net->model : "virtio-net-pci";
                int r = argv_check_id(b, "[net.ID] section id", net->id, 60);
                if (r >= 0)
                        r = argv_check_id(b, "[net] model", model, 64);
                if (r < 0)
                        return r;

                if (net->mode == VMDEF_NET_BRIDGE && !net->bridge)
                        return vl_error_set(b->err, 0, "[net.%s] mode = bridge needs `bridge`",
                                            net->id);
                struct optstr netdev = {0};
                optstr_begin(&netdev, net->mode == VMDEF_NET_BRIDGE ? "tap" : "user");
                optstr_addf(&netdev, "id=net-%s", net->id);
                if (net->mode == VMDEF_NET_BRIDGE) {
                        optstr_addf(&netdev, "fd=%d", QEMU_ARGV_FD_TAP(n_bridged));
                        if (qemu_argv_uses_vhost_net(b->opts->accel))
                                optstr_addf(&netdev, "vhost=on,vhostfd=%d",
                                            QEMU_ARGV_FD_VHOST(n_bridged));
                        n_bridged++;
                }
                r = argv_push_option(b, "-netdev", &netdev);
                if (r < 0)
                        return r;

                struct optstr dev = {0};
                optstr_begin(&dev, model);
                optstr_addf(&dev, "netdev=net-%s,id=net-%s-dev", net->id, net->id);
                if (net->mac)
                        optstr_add(&dev, "mac", net->mac);
                r = argv_push_option(b, "-device", &dev);
                if (r < 0)
                        return r;
        }
        return 0;
}
