#!/usr/bin/env python3
"""Every device kind vmlaunch emits is accepted by a real QEMU and lands where the
definition says.

devices.ini (disks of every bus and medium, file and block-device backed, iothreads,
boot order, USB host devices, user and bridge networks, serial, vga, UEFI pflash) is
installed root-owned; `vmlaunch plan --json` gives the argv, which is started exactly
as given (it has -S: the guest never runs) with the descriptors it names made the
way vmlaunch makes them: listening QMP sockets, and a tap on the test's bridge for
each bridge network. QMP then checks
query-pci, query-block, query-named-block-nodes, query-iothreads, query-rx-filter,
query-chardev, qom-get on each device and HMP `info usb`/`info network`, each
problem named; then `quit`.

evdev: QEMU's input-linux needs a real /dev/input/eventN. The test makes one with
uinput when the kernel has it and checks it over QMP; without uinput it starts a
second definition whose evdev is a plain file and requires QEMU's own "is not an
evdev device" error: every option vmlaunch gives input-linux was accepted, only the
device is missing (a misspelled option fails earlier with another message).

Not covered here, on purpose: [gpu] (vfio-pci needs an IOMMU and a GPU to give
away; this machine has no IOMMU, tests/system covers vfio-pci), [boot] direct kernel
boot (needs a bootable kernel; the launcher tests boot one), and properties QMP
does not report (aio, discard): QEMU accepting them is all this test shows.
"""
import fcntl
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

QEMU = "qemu-system-x86_64"
HERE = os.path.join(os.environ["SOURCE_ROOT"], "tests", "integration", "qemu")
VMLAUNCH = os.environ["VMLAUNCH"]
OVMF_VARS_TEMPLATE = "/usr/share/OVMF/OVMF_VARS_4M.fd"

problems = []  # every failed check, named; the test fails when any is here
cleanups = []  # undo actions, run last first


def skip(reason):
    print(f"skipped: {reason}")
    sys.exit(77)


class Fatal(Exception):
    """A failure after which no further check makes sense."""


def expect(ok, what):
    if not ok:
        problems.append(what)
    return ok


def run(*argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise Fatal(f"`{' '.join(argv)}` exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


# ---- the host side: images, loop devices, the bridge, an input device


def make_images(tmp):
    img = os.path.join(tmp, "img")
    os.mkdir(img)
    run("qemu-img", "create", "-q", "-f", "raw", f"{img}/base.raw", "16M")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", f"{img}/base.raw", "-F", "raw",
        f"{img}/sys.qcow2")
    for name in ("data.raw", "ro.raw", "sata.raw", "cd.iso", "scsicd.iso", "blk.raw",
                 "hostcd.iso"):
        run("qemu-img", "create", "-q", "-f", "raw", f"{img}/{name}", "8M")
    shutil.copyfile(OVMF_VARS_TEMPLATE, os.path.join(tmp, "OVMF_VARS.fd"))
    return img


def loop_device(image, *extra):
    dev = run("losetup", "--find", "--show", *extra, image).strip()
    cleanups.append(lambda: subprocess.run(["losetup", "-d", dev]))
    return dev


def make_bridge():
    """A bridge of our own; ip fails only without CAP_NET_ADMIN or the bridge module."""
    name = f"vltbr{os.getpid()}"[:15]
    run("ip", "link", "add", "name", name, "type", "bridge")
    cleanups.append(lambda: subprocess.run(["ip", "link", "del", name]))
    run("ip", "link", "set", name, "up")
    return name


# linux/uinput.h and linux/input-event-codes.h
UI_DEV_CREATE, UI_DEV_DESTROY = 0x5501, 0x5502
UI_SET_EVBIT, UI_SET_KEYBIT = 0x40045564, 0x40045565
EV_KEY, BUS_VIRTUAL = 0x01, 0x06
KEYS = (29, 97, 30, 70)  # left ctrl, right ctrl, a, scroll lock


def ui_get_sysname(length):
    return (2 << 30) | (length << 16) | (ord("U") << 8) | 44


def make_evdev(tmp):
    """(path of a virtual keyboard's event node, None), or (None, why there is none)."""
    node = "/dev/uinput"
    if not os.path.exists(node):
        with open("/proc/misc") as f:
            minors = {name: int(minor) for minor, name in (l.split() for l in f)}
        if "uinput" not in minors:
            return None, "this kernel has no uinput (no /dev/uinput, none in /proc/misc)"
        node = os.path.join(tmp, "uinput")
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(10, minors["uinput"]))
    fd = os.open(node, os.O_WRONLY | os.O_NONBLOCK)
    cleanups.append(lambda: os.close(fd))
    fcntl.ioctl(fd, UI_SET_EVBIT, EV_KEY)
    for key in KEYS:
        fcntl.ioctl(fd, UI_SET_KEYBIT, key)
    # struct uinput_user_dev: name[80], input_id, ff_effects_max, 4 x abs[64]
    os.write(fd, struct.pack("=80sHHHHi", b"vmlaunch test keyboard", BUS_VIRTUAL, 1, 1, 1, 0)
             + bytes(4 * 64 * 4))
    fcntl.ioctl(fd, UI_DEV_CREATE)
    cleanups.append(lambda: fcntl.ioctl(fd, UI_DEV_DESTROY))
    sysname = fcntl.ioctl(fd, ui_get_sysname(64), bytes(64)).rstrip(b"\0").decode()
    sysdir = f"/sys/devices/virtual/input/{sysname}"
    deadline = time.monotonic() + 10
    while True:
        events = [e for e in os.listdir(sysdir) if e.startswith("event")]
        if events:
            break
        if time.monotonic() > deadline:
            raise Fatal(f"uinput made {sysdir} but no event node appeared in it (no evdev handler?)")
        time.sleep(0.05)
    path = f"/dev/input/{events[0]}"
    if not os.path.exists(path):  # no udev here: make the node ourselves
        with open(f"{sysdir}/{events[0]}/dev") as f:
            major, minor = map(int, f.read().split(":"))
        path = os.path.join(tmp, events[0])
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(major, minor))
    return path, None


# ---- vmlaunch and QEMU


def install_def(config_dir, name, text):
    path = os.path.join(config_dir, f"{name}.ini")
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, 0, 0)
    os.chmod(path, 0o644)


def plan_argv(name):
    out = run(VMLAUNCH, "plan", "--json", name)
    plan = json.loads(out)
    for w in plan.get("warnings", []):
        print(f"plan warning: {w}")
    return plan["qemu"]["argv"]


def options_of(argv, flag, kind):
    """The options of each `flag kind,...` in argv, as dicts."""
    for f, value in zip(argv, argv[1:]):
        if f == flag and value.startswith(kind + ","):
            yield dict(kv.split("=", 1) for kv in value.split(",")[1:])


def tap_on_bridge(bridge):
    """A tap as vmlaunch opens it (vnet headers, not persistent), on the bridge and up."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", b"vltap%d", 0x0002 | 0x1000 | 0x4000)  # TAP|NO_PI|VNET_HDR
    name = fcntl.ioctl(fd, 0x400454ca, ifr)[:16].rstrip(b"\0").decode()  # TUNSETIFF
    run("ip", "link", "set", "dev", name, "master", bridge, "up")
    return fd


def listening_socket(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(4)
    return s


def start_qemu(argv, log_path, bridge, qmp_path):
    """argv exactly as planned, with what vmlaunch passes at the descriptors the
    argv names: listening QMP sockets (the supervisor's at qmp_path) and a tap on
    the bridge per tap netdev."""
    high = {}  # above any target number, so the shell's moves cannot collide
    for opts in options_of(argv, "-chardev", "socket"):
        path = qmp_path if opts["id"] == "qmp" else f"{qmp_path}.{opts['id']}"
        with listening_socket(path) as s:
            high[int(opts["fd"])] = fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 100)
    if "qmp" not in {o["id"] for o in options_of(argv, "-chardev", "socket")}:
        raise Fatal("the argv has no -chardev socket,id=qmp,fd=N: cannot give QEMU its QMP")
    for opts in options_of(argv, "-netdev", "tap"):
        tap = tap_on_bridge(bridge)
        high[int(opts["fd"])] = fcntl.fcntl(tap, fcntl.F_DUPFD, 100)
        os.close(tap)
        if "vhostfd" in opts:
            vhost = os.open("/dev/vhost-net", os.O_RDWR)
            high[int(opts["vhostfd"])] = fcntl.fcntl(vhost, fcntl.F_DUPFD, 100)
            os.close(vhost)
    moves = " ".join(f"{fd}<&{h} {h}<&-" for fd, h in high.items())
    wrapper = ["bash", "-c", f'exec "$@" {moves}', "qemu"]
    log = open(log_path, "w")
    qemu = subprocess.Popen(wrapper + argv, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT,
                            pass_fds=list(high.values()))
    for h in high.values():
        os.close(h)
    cleanups.append(lambda: qemu.poll() is None and (qemu.kill(), qemu.wait()))
    return qemu


class Qmp:
    def __init__(self, path, qemu, log_path, timeout=90):
        self.qemu, self.log_path = qemu, log_path
        deadline = time.monotonic() + timeout
        while True:
            if qemu.poll() is not None:
                self.qemu_ended("before its QMP socket answered")
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Fatal(f"no QMP at {path} after {timeout} s")
                time.sleep(0.1)
        self.sock.settimeout(60)
        self.f = self.sock.makefile("rw")
        try:
            greeting = self.f.readline()
        except OSError:
            greeting = ""
        if not greeting:
            self.qemu_ended("before its QMP greeting")
        self("qmp_capabilities")

    def qemu_ended(self, when):
        """QEMU refused the argv (or died): its own message says what it refused."""
        try:
            self.qemu.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Fatal(f"QEMU closed QMP {when} but still runs")
        raise Fatal(f"QEMU exited {self.qemu.returncode} {when}:\n"
                    + open(self.log_path).read().strip())

    def __call__(self, cmd, **args):
        try:
            self.f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
            self.f.flush()
        except OSError:
            self.qemu_ended(f"before {cmd}")
        while True:
            try:
                line = self.f.readline()
            except OSError:
                line = ""
            if not line:
                self.qemu_ended(f"during {cmd}")
            r = json.loads(line)
            if "event" in r:
                continue
            if "error" in r:
                raise Fatal(f"{cmd} {args}: {r['error']['desc']}")
            return r["return"]

    def get(self, path, prop):
        """qom-get, or None when the object or property does not exist."""
        try:
            return self("qom-get", path=path, property=prop)
        except Fatal:
            return None

    def hmp(self, line):
        return self("human-monitor-command", **{"command-line": line})


# ---- what devices.ini asks for: keep in step with it

# id: bus device type, format, storage driver, read-only, cache (direct, no-flush,
# writeback), boot index (-1: none), and for scsi the controller's iothread.
CACHE = {"none": (True, False, True), "directsync": (True, False, False),
         "writeback": (False, False, True), "writethrough": (False, False, False),
         "unsafe": (False, True, True)}
DISKS = {
    "sys": dict(type="virtio-blk-pci", drv="qcow2", storage="file", ro=False,
                cache=CACHE["none"], boot=1, iothread="io1", serial="SYS-1",
                backing="img/base.raw"),
    "blk": dict(type="virtio-blk-pci", drv="raw", storage="host_device", ro=False,
                cache=CACHE["directsync"], boot=-1),
    "data": dict(type="scsi-hd", drv="raw", storage="file", ro=False,
                 cache=CACHE["unsafe"], boot=4, iothread="io2"),
    "ro": dict(type="scsi-hd", drv="raw", storage="file", ro=True,
               cache=CACHE["writethrough"], boot=-1),
    "sata": dict(type="ide-hd", drv="raw", storage="file", ro=False,
                 cache=CACHE["writeback"], boot=2, port=0),
    # a cdrom has no write-cache property: QEMU's default (on) stays
    "cd": dict(type="ide-cd", drv="raw", storage="file", ro=True, cache=CACHE["none"],
               boot=3, port=1),
    "scsicd": dict(type="scsi-cd", drv="raw", storage="file", ro=True, cache=CACHE["none"],
                   boot=-1),
    "hostcd": dict(type="scsi-cd", drv="raw", storage="host_cdrom", ro=True,
                   cache=CACHE["none"], boot=-1),
}
USB = {"pad": (0x045E, 0x028E), "receiver": (0x046D, 0xC52B)}
NETS = {"user": ("virtio-net-pci", "52:54:00:7e:57:01", "user"),
        "legacy": ("e1000e", "52:54:00:7e:57:02", "user"),
        "lan": ("e1000", "52:54:00:7e:57:03", "bridge")}
# (vendor, device IDs, class) in query-pci; virtio devices are transitional on
# pcie.0 (legacy IDs) or modern.
PCI = {"virtio-blk-pci": (0x1AF4, {0x1001, 0x1042}, 0x0100),
       "virtio-scsi-pci": (0x1AF4, {0x1004, 0x1048}, 0x0100),
       "virtio-net-pci": (0x1AF4, {0x1000, 0x1041}, 0x0200),
       "e1000e": (0x8086, {0x10D3}, 0x0200),
       "e1000": (0x8086, {0x100E}, 0x0200),
       "qemu-xhci": (0x1B36, {0x000D}, 0x0C03)}
VIRTIO_VGA = (0x1AF4, {0x1050}, 0x0300)
AHCI = (0x8086, {0x2922}, 0x0106)


def pci_devices(buses):
    for bus in buses:
        for dev in bus["devices"]:
            yield dev
            if "pci_bridge" in dev:
                yield from pci_devices([dev["pci_bridge"]["bus"]])


def matches(dev, want):
    vendor, devices, cls = want
    return (dev["id"]["vendor"] == vendor and dev["id"]["device"] in devices
            and dev["class_info"]["class"] == cls)


def check_pci(qmp):
    devs = list(pci_devices(qmp("query-pci")))
    by_id = {d["qdev_id"]: d for d in devs if d["qdev_id"]}
    wanted = {f"disk-{i}-dev": d["type"] for i, d in DISKS.items() if d["type"] in PCI}
    wanted.update({f"scsi-{i}": "virtio-scsi-pci" for i, d in DISKS.items()
                   if d["type"].startswith("scsi-")})
    wanted.update({f"net-{i}-dev": n[0] for i, n in NETS.items()})
    wanted["xhci"] = "qemu-xhci"
    for qdev, kind in wanted.items():
        dev = by_id.get(qdev)
        if expect(dev is not None, f"query-pci: no {kind} with id {qdev}"):
            expect(matches(dev, PCI[kind]),
                   f"query-pci: {qdev} is {dev['id']['vendor']:04x}:{dev['id']['device']:04x} "
                   f"class {dev['class_info']['class']:04x}, not a {kind}")
    expect(any(matches(d, VIRTIO_VGA) for d in devs), "query-pci: no virtio-vga (vga = virtio)")
    expect(any(matches(d, AHCI) for d in devs), "query-pci: no ICH9 AHCI for the sata disks")
    print(f"query-pci: {len(devs)} functions, {len(wanted)} of vmlaunch's checked")


def check_block(qmp, tmp, paths):
    block = {b["inserted"]["node-name"]: b for b in qmp("query-block") if "inserted" in b}
    nodes = {n["node-name"]: n for n in qmp("query-named-block-nodes")}
    for disk, want in DISKS.items():
        name, path = f"disk-{disk}", paths[disk]
        b = block.get(name)
        if not expect(b is not None, f"query-block: no drive with node {name} ({path})"):
            continue
        got = b["inserted"]
        expect(f"disk-{disk}-dev" in b.get("qdev", ""),
               f"query-block: {name} is attached to {b.get('qdev')!r}, not disk-{disk}-dev")
        expect(got["file"] == path, f"query-block: {name} opens {got['file']}, not {path}")
        expect(got["drv"] == want["drv"], f"query-block: {name} is {got['drv']}, not {want['drv']}")
        expect(got["ro"] == want["ro"], f"query-block: {name} read-only is {got['ro']}, "
               f"expected {want['ro']}")
        cache = (got["cache"]["direct"], got["cache"]["no-flush"], got["cache"]["writeback"])
        expect(cache == want["cache"], f"query-block: {name} cache (direct, no-flush, "
               f"writeback) is {cache}, expected {want['cache']}")
        backing = os.path.join(tmp, want["backing"]) if "backing" in want else None
        expect(got.get("backing_file") == backing,
               f"query-block: {name} backing file is {got.get('backing_file')}, not {backing}")
        storage = nodes.get(f"{name}-storage")
        if expect(storage is not None, f"query-named-block-nodes: no {name}-storage"):
            expect(storage["drv"] == want["storage"] and storage["file"] == path
                   and storage["ro"] == want["ro"],
                   f"query-named-block-nodes: {name}-storage is {storage['drv']} on "
                   f"{storage['file']} ro={storage['ro']}, expected {want['storage']} on "
                   f"{path} ro={want['ro']}")
    for node, path, ro in (("ovmf-code", "/usr/share/OVMF/OVMF_CODE_4M.fd", True),
                           ("ovmf-vars", os.path.join(tmp, "OVMF_VARS.fd"), False)):
        b = block.get(node)
        if expect(b is not None, f"query-block: no UEFI pflash node {node}"):
            expect(b["inserted"]["file"] == path and b["inserted"]["ro"] == ro,
                   f"query-block: {node} is {b['inserted']['file']} ro={b['inserted']['ro']}, "
                   f"expected {path} ro={ro}")
    print(f"query-block: {len(DISKS)} disks and the UEFI pflash checked")


def check_disk_devices(qmp):
    ids = {t["id"] for t in qmp("query-iothreads")}
    expect(ids == {"io1", "io2"}, f"query-iothreads: {sorted(ids)}, expected io1 and io2")
    for disk, want in DISKS.items():
        dev = f"/machine/peripheral/disk-{disk}-dev"
        kind = qmp.get(dev, "type")
        if not expect(kind == want["type"], f"disk-{disk}-dev is {kind}, not {want['type']}"):
            continue
        boot = qmp.get(dev, "bootindex")
        expect(boot == want["boot"], f"disk-{disk}-dev bootindex is {boot}, not {want['boot']}")
        if "serial" in want:
            serial = qmp.get(dev, "serial")
            expect(serial == want["serial"], f"disk-{disk}-dev serial is {serial!r}")
        bus = qmp.get(dev, "parent_bus") or ""
        if kind.startswith("scsi-"):  # on its own controller
            expect(bus.endswith(f"/scsi-{disk}/virtio-backend/scsi-{disk}.0"),
                   f"disk-{disk}-dev sits on {bus}, not on its controller scsi-{disk}")
        if kind.startswith("ide-"):  # on its own port of the AHCI
            ahci = qmp.get(bus.rsplit("/", 1)[0], "type")
            expect(bus.endswith(f"/ide.{want['port']}") and ahci == "ich9-ahci",
                   f"disk-{disk}-dev sits on {bus} ({ahci}), not on ich9-ahci port "
                   f"ide.{want['port']}")
        holder = dev if kind == "virtio-blk-pci" else f"/machine/peripheral/scsi-{disk}"
        if "iothread" in want or kind.startswith("scsi-"):
            io = qmp.get(holder, "iothread")
            io_want = f"/objects/{want['iothread']}" if "iothread" in want else ""
            expect(io == io_want, f"{holder} runs in iothread {io!r}, expected {io_want!r}")
    print("disk devices: type, bus, boot order, serial, iothreads checked")


def check_usb(qmp):
    info = qmp.hmp("info usb")
    for usb, (vendor, product) in USB.items():
        dev = f"/machine/peripheral/usb-{usb}"
        expect(f"ID: usb-{usb}" in info, f"info usb: no usb-{usb}:\n{info}")
        got = (qmp.get(dev, "type"), qmp.get(dev, "vendorid"), qmp.get(dev, "productid"))
        expect(got == ("usb-host", vendor, product),
               f"usb-{usb} is {got}, expected usb-host {vendor:04x}:{product:04x}")
        bus = qmp.get(dev, "parent_bus") or ""
        expect(bus.endswith("/xhci/xhci.0"), f"usb-{usb} is on {bus!r}, not on xhci.0")
    print(f"usb: {len(USB)} usb-host devices on the xhci checked")


def check_nets(qmp, bridge):
    # query-rx-filter knows only virtio-net; the NIC's own mac property has them all
    filters = {f["name"]: f["main-mac"] for f in qmp("query-rx-filter")}
    info = qmp.hmp("info network")
    for net, (model, mac, mode) in NETS.items():
        dev = f"net-{net}-dev"
        if model == "virtio-net-pci":
            expect(filters.get(dev) == mac,
                   f"query-rx-filter: {dev} has MAC {filters.get(dev)}, not {mac}")
        got = (qmp.get(f"/machine/peripheral/{dev}", "type"),
               qmp.get(f"/machine/peripheral/{dev}", "mac"))
        expect(got == (model, mac), f"{dev} is {got}, expected {model} with MAC {mac}")
        expect(f"{dev}: index=0,type=nic,model={model},macaddr={mac}" in info,
               f"info network: no {model} {dev} with MAC {mac}:\n{info}")
        backend = (f"net-{net}: index=0,type=user" if mode == "user" else
                   f"net-{net}: index=0,type=tap,fd=")
        expect(backend in info, f"info network: {dev}'s backend is not `{backend}...`:\n{info}")
    taps = run("ip", "-o", "link", "show", "master", bridge)
    expect(taps.strip(), f"no interface on bridge {bridge}: the tap QEMU was given is not on it")
    print(f"networks: {len(NETS)} NICs, their MACs and backends, the tap on {bridge} checked")


def check_serial_and_evdev(qmp, tmp, evdev):
    chardevs = {c["label"]: c for c in qmp("query-chardev")}
    serial = chardevs.get("serial0", {})
    expect(serial.get("filename") == "file" and serial.get("frontend-open"),
           f"query-chardev: serial0 is {serial or 'missing'}, expected a file a device has open")
    expect("dev: isa-serial" in qmp.hmp("info qtree"), "info qtree: no isa-serial")
    expect(os.path.exists(os.path.join(tmp, "serial.log")), "QEMU did not create serial.log")
    if evdev:
        obj = "/objects/evdev-kbd"
        got = {p: qmp.get(obj, p) for p in ("evdev", "grab_all", "repeat", "grab-toggle")}
        want = {"evdev": evdev, "grab_all": True, "repeat": True, "grab-toggle": "scrolllock"}
        expect(got == want, f"input-linux {obj} is {got}, expected {want}")
        print("evdev: input-linux on a uinput keyboard checked")


EVDEV_SECTION = """
[evdev.kbd]
path = {path}
grab_all = yes
repeat = yes
grab_toggle = scrolllock
"""


def check_evdev_options_only(tmp, config_dir, bridge):
    """No input device can exist here: QEMU must get as far as opening the node."""
    path = os.path.join(tmp, "not-an-evdev")
    open(path, "w").close()
    install_def(config_dir, "vltest-evdev",
                "[qemu]\naccel = tcg\n[memory]\nsize = 64M\n[firmware]\ntype = bios\n"
                "[cpu]\nmodel = max\ncores = 1\n[hyperv]\nenabled = off\n"
                "[host]\nvtconsoles = off\nframebuffer = off\nunload_modules = off\n"
                "governor = off\n" + EVDEV_SECTION.format(path=path))
    argv = plan_argv("vltest-evdev")
    log = os.path.join(tmp, "qemu-evdev.log")
    qemu = start_qemu(argv, log, bridge, os.path.join(tmp, "qmp-evdev.sock"))
    try:
        qemu.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise Fatal("QEMU still runs 60 s after start with a plain file as evdev")
    out = open(log).read()
    expect(qemu.returncode != 0 and f"{path}: is not an evdev device" in out,
           f"QEMU with input-linux on a plain file: exit {qemu.returncode}, expected its "
           f"'is not an evdev device' error after taking every option:\n{out}")
    print("evdev: QEMU took every input-linux option and stopped at the missing device")


def main():
    if shutil.which(QEMU) is None:
        skip(f"{QEMU} is not installed")
    if os.getuid() != 0:
        skip("needs root: vmlaunch wants root-owned definitions; loop devices, a bridge")
    tmp = tempfile.mkdtemp(prefix="vmlaunch-it.")
    cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    config_dir = os.path.join(tmp, "etc")
    os.mkdir(config_dir)
    os.environ.update(VMLAUNCH_RUNTIME_DIR=os.path.join(tmp, "run"),
                      VMLAUNCH_CONFIG_DIR=config_dir)

    img = make_images(tmp)
    loop_disk = loop_device(f"{img}/blk.raw")
    loop_cd = loop_device(f"{img}/hostcd.iso", "--read-only")
    bridge = make_bridge()
    evdev, no_evdev = make_evdev(tmp)

    with open(os.path.join(HERE, "devices.ini")) as f:
        text = f.read()
    for key, value in (("@TMP@", tmp), ("@LOOP_DISK@", loop_disk), ("@LOOP_CD@", loop_cd),
                       ("@BRIDGE@", bridge)):
        text = text.replace(key, value)
    if evdev:
        text += EVDEV_SECTION.format(path=evdev)
    install_def(config_dir, "vltest-devices", text)
    paths = {d: os.path.join(img, f"{d}.raw") for d in DISKS}
    paths.update(sys=f"{img}/sys.qcow2", blk=loop_disk, cd=f"{img}/cd.iso",
                 scsicd=f"{img}/scsicd.iso", hostcd=loop_cd)

    argv = plan_argv("vltest-devices")
    log = os.path.join(tmp, "qemu.log")
    qmp_path = os.path.join(tmp, "qmp.sock")
    qemu = start_qemu(argv, log, bridge, qmp_path)
    qmp = Qmp(qmp_path, qemu, log)
    status = qmp("query-status")
    expect(status["status"] == "prelaunch", f"QEMU is {status['status']}, not paused (-S)")
    check_pci(qmp)
    check_block(qmp, tmp, paths)
    check_disk_devices(qmp)
    check_usb(qmp)
    check_nets(qmp, bridge)
    check_serial_and_evdev(qmp, tmp, evdev)
    qmp("quit")
    try:
        qemu.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise Fatal("QEMU still runs 30 s after quit")
    if not evdev:
        print(f"evdev: {no_evdev}; checking the options up to the device instead")
        check_evdev_options_only(tmp, config_dir, bridge)
    # GPU passthrough (vfio-pci) is not started here: no IOMMU on this machine, and
    # no GPU to take from the host; tests/system covers [gpu].


if __name__ == "__main__":
    # meson's timeout sends SIGTERM: undo the bridge, loop devices and QEMU all the same
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed by SIGTERM"))
    code = 0
    try:
        main()
    except Fatal as e:
        problems.append(str(e))
    finally:
        for undo in reversed(cleanups):
            try:
                undo()
            except OSError as e:
                print(f"cleanup: {e}")
    for p in problems:
        print(f"FAIL: {p}")
        code = 1
    if not code:
        print("ok")
    sys.exit(code)
