#!/usr/bin/env python3
"""import-libvirt, then plan --json, against the command line libvirt itself builds.

For each domain of tests/fixtures/libvirt/ (libvirt's own test data: CASE.xml and the
CASE.x86_64-latest.args libvirt's qemuxmlconftest expects for it), this imports the XML,
plans the definition, and compares, element by element, what both support:

  machine      the machine type
  smp          -smp: vCPUs, sockets, cores, threads (dies: libvirt leaves out dies=1)
  memory       -m and the memory backend's size, whether it is on hugepages, their size,
               and preallocation
  cpu          -cpu: the model and every flag (hv-* included), values normalised
               (hv-spinlocks=0x2fff == 12287, on == yes); kvm=off is <kvm><hidden>,
               kvm-* the other <kvm> features
  accel        the options of -accel beyond its type (dirty-ring-size, rapl, ...)
  firmware     the UEFI flash: -machine pflash0 (code) and pflash1 (vars) followed
               through -blockdev to their file names and read-only, SMM (-machine
               smm=on) and the secure flash (-global cfi.pflash01 secure=on)
  iothreads    the ids of -object iothread
  hostdevs     the host addresses of -device vfio-pci
  disks        per image file: the device driver, its iothread and bootindex
  uuid         -uuid
  accel        the domain's type='qemu' is accel = tcg (libvirt: -accel tcg)
  pins         what libvirt applies with sched_setaffinity (not on its command line):
               <cputune> vcpupin, emulatorpin and iothreadpin against plan's "pins"

Every difference must be listed in TOLERATED for its case with the reason, and must
appear in the import as a "# not imported:" or "# imported differently:" line (the
needle), so a tolerated difference is one the user was told about. Differences that
hold for every case are in ALWAYS, with their reasons. Run by meson with VMLAUNCH and
SOURCE_ROOT set; needs qemu-system-x86_64 for plan's version probe.
"""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

VMLAUNCH = os.environ["VMLAUNCH"]
FIXTURES = os.path.join(os.environ["SOURCE_ROOT"], "tests", "fixtures", "libvirt")

# Differences between vmlaunch's and libvirt's command lines that hold for every domain,
# not compared above: vmlaunch's own monitors (-chardev/-mon qmp, ctl), its pflash node
# names and PCIe layout (a root port for the GPU, its own controllers), -audiodev/-device
# piix3-usb-uhci/virtio-balloon that libvirt adds and vmlaunch does not (no balloon
# with VFIO; USB from vmlaunch's qemu-xhci), libvirt's masterKey secret, -boot strict,
# -no-shutdown, -uuid placed among [qemu] args. And:
ALWAYS = {
    "memory-backend-type": "hugepages: libvirt maps a hugetlbfs file (memory-backend-file "
    "on /dev/hugepages2M); vmlaunch asks for memory-backend-memfd with hugetlb=on: the "
    "same pages, without a mount",
    "smp-dies": "vmlaunch writes dies=1; libvirt leaves the default out",
    "accel-tcg": "the comparison plans the import under KVM (accel = kvm): vmlaunch leaves "
    "hv-* flags out under TCG, where QEMU implements few, while libvirt's TCG test data "
    "keeps them; the import's own accel = tcg is checked separately",
}

# case -> {element: (needle in the import, reason)}
TOLERATED = {
    "cpu-host-passthrough-features": {
        "cpu.migratable": (None,
                           "libvirt writes migratable=on, QEMU's default for -cpu host; "
                           "vmlaunch leaves the default (it never migrates)"),
    },
    "firmware-manual-efi-loader-secure": {
        "firmware.smm": ("# loader secure='yes' without enrolled keys: no Secure Boot",
                         "vmlaunch takes SMM from the code's firmware descriptor "
                         "(requires-smm), not from loader secure='yes'; no descriptor here "
                         "names this Fedora path"),
        "firmware.secure_flash": ("# loader secure='yes' without enrolled keys: no Secure Boot",
                                  "cfi.pflash01 secure=on goes with SMM (firmware.smm)"),
    },
    "hostdev-pci-address": {
        "machine": ("# imported differently: os/type machine: i440fx ('pc') has no PCIe",
                    "vmlaunch passes the GPU through on a PCIe root port, which i440fx "
                    "lacks (it refuses a GPU there): the import says so and takes q35"),
    },
    "kvm-features": {
        "cpu.kvm-hint-dedicated": ("# not imported: features/kvm/hint-dedicated",
                                   "vmlaunch has kvm_hidden only"),
        "cpu.kvm-poll-control": ("# not imported: features/kvm/poll-control",
                                 "vmlaunch has kvm_hidden only"),
        "cpu.migratable": ("#   cpu migratable (vmlaunch never migrates)",
                           "libvirt writes the domain's migratable='off'; vmlaunch leaves "
                           "QEMU's default for -cpu host (on: invtsc and the like stay hidden)"),
        "accel.dirty-ring-size": ("# not imported: features/kvm/dirty-ring",
                                  "vmlaunch sets no KVM dirty ring (dirty-page tracking "
                                  "for migration, which it never does)"),
        "accel.rapl": ("# not imported: features/kvm/rapl",
                       "vmlaunch starts no qemu-vmsr-helper for RAPL energy counters"),
        "accel.rapl-helper-socket": ("# not imported: features/kvm/rapl", "as above"),
    },
    "cputune": {
        "pins.vcpus": ("# not imported: cputune/vcpupin",
                       "the domain pins 2 of its 4 vCPUs; vmlaunch pins all or none"),
    },
    "hyperv": {
        "cpu.hv-vendor-id": ("# not imported: hyperv/vendor_id",
                             "'KVM Hv' has a blank, which vmlaunch refuses (QEMU's -cpu "
                             "option cannot carry it in vmlaunch's quoting)"),
        "cpu.hv-time": ("# imported differently: clock/timer name='hypervclock'",
                        "vmlaunch requires hv-time with hv-stimer (as QEMU does)"),
    },
    "iothreads-disk": {
        "disks./var/lib/libvirt/images/iothrtest2.img": (
            "# not imported: devices/disk vdc: driver/iothreads",
            "iothread-vq-mapping (queues spread over iothreads): vmlaunch gives a disk one "
            "iothread"),
        "disks./var/lib/libvirt/images/iothrtest3.img": (
            "# not imported: devices/disk vdd: driver/iothreads",
            "iothread-vq-mapping, as above"),
    },
}

failures = []


def fail(case, msg):
    failures.append(f"{case}: {msg}")
    print(f"FAIL {case}: {msg}")


def libvirt_argv(path):
    text = open(path).read().replace("\\\n", " ")
    words = shlex.split(text)
    while words and re.match(r"^[A-Z_]+=", words[0]):
        words.pop(0)
    return words


def values(argv, opt):
    return [argv[i + 1] for i in range(len(argv) - 1) if argv[i] == opt]


def optdict(s):
    """'a,b=c' or a JSON object -> (first word or qom-type/driver, {key: value})."""
    if s.startswith("{"):
        d = json.loads(s)
        return d.get("qom-type") or d.get("driver"), d
    parts = re.split(r",(?!,)", s)
    first, d = None, {}
    for i, p in enumerate(parts):
        if "=" in p:
            k, v = p.split("=", 1)
            d[k] = v
        elif i == 0:
            first = p
        else:
            d[p] = "on"
    return first, d


def size_bytes(s):
    s = str(s)
    m = re.match(r"^(?:size=)?(\d+)([kKMGT]?)$", s)
    if not m:
        raise ValueError(s)
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30,
                              "T": 1 << 40}[m.group(2)]


def norm_flag(k, v):
    v = str(v)
    if k == "hv-spinlocks":
        return str(int(v, 0))
    return {"yes": "on", "true": "on", "no": "off", "false": "off"}.get(v, v)


def smp(argv):
    first, d = optdict(values(argv, "-smp")[0])
    return {"cpus": first, "sockets": d.get("sockets"), "cores": d.get("cores"),
            "threads": d.get("threads"), "dies": d.get("dies", "1")}


def memory(argv, ids):
    m = size_bytes(values(argv, "-m")[0])
    for o in values(argv, "-object"):
        t, d = optdict(o)
        if d.get("id") in ids:
            huge = None
            if t == "memory-backend-file" and "hugepages" in d.get("mem-path", ""):
                mm = re.search(r"hugepages(\d+[MG])", d["mem-path"])
                huge = mm.group(1) if mm else "2M"
            if d.get("hugetlb") == "on":
                huge = d.get("hugetlbsize", "2M")
            prealloc = str(d.get("prealloc", "off")).lower() in ("on", "true")
            return {"m": m, "size": size_bytes(d["size"]), "hugepages": huge,
                    "prealloc": prealloc}
    return {"m": m}


def cpu(argv):
    first, d = optdict(values(argv, "-cpu")[0])
    out = {}
    for k, v in d.items():
        # "+flag"/"-flag" (vmlaunch's [cpu] flags) are "flag=on"/"flag=off"
        if k[0] in "+-" and v == "on":
            k, v = k[1:], "on" if k[0] == "+" else "off"
        out[k] = norm_flag(k, v)
    return first, out


def accel_options(argv):
    """-accel's options without its type (the type is checked apart, see accel-tcg)."""
    vals = values(argv, "-accel")
    return optdict(vals[0])[1] if vals else {}


def firmware(argv):
    """The flash the machine maps (pflash0 code, pflash1 vars): file and read-only."""
    nodes = {}
    for o in values(argv, "-blockdev"):
        _, d = optdict(o)
        nodes[d["node-name"]] = d

    def truth(v):
        return str(v).lower() in ("on", "true", "yes")
    _, m = optdict(values(argv, "-machine")[0])
    out = {}
    for unit, what in (("pflash0", "code"), ("pflash1", "vars")):
        node = m.get(unit)
        if node is None:
            continue
        ro = truth(nodes.get(node, {}).get("read-only", False))
        seen = 0
        while node in nodes and "filename" not in nodes[node] and seen < 4:
            node, seen = nodes[node].get("file"), seen + 1
        out[what] = nodes.get(node, {}).get("filename", node)
        out[what + "_readonly"] = ro
    # -drive if=pflash: unit 0 the code, unit 1 the vars
    for o in values(argv, "-drive"):
        _, d = optdict(o)
        if d.get("if") == "pflash":
            what = "vars" if d.get("unit") == "1" else "code"
            out[what] = d.get("file")
            out[what + "_readonly"] = truth(d.get("readonly", "off"))
    out["smm"] = m.get("smm") == "on"
    out["secure_flash"] = any(optdict(g)[1].get("driver") == "cfi.pflash01" and
                              optdict(g)[1].get("property") == "secure" and
                              truth(optdict(g)[1].get("value"))
                              for g in values(argv, "-global"))
    return out


def iothreads(argv):
    out = set()
    for o in values(argv, "-object"):
        t, d = optdict(o)
        if t == "iothread":
            out.add(d["id"])
    return out


def hostdevs(argv):
    out = set()
    for o in values(argv, "-device"):
        t, d = optdict(o)
        if t == "vfio-pci":
            out.add(d["host"])
    return out


def disks(argv):
    nodes = {}
    for o in values(argv, "-blockdev"):
        _, d = optdict(o)
        nodes[d["node-name"]] = d
    out = {}
    for o in values(argv, "-device"):
        t, d = optdict(o)
        node = d.get("drive")
        seen = 0
        while node in nodes and "filename" not in nodes[node] and seen < 4:
            node, seen = nodes[node].get("file"), seen + 1
        if node in nodes:
            # libvirt's iothread-vq-mapping spreads a disk's queues over iothreads
            mapping = [m["iothread"] for m in d.get("iothread-vq-mapping", [])]
            out[nodes[node]["filename"]] = {"driver": t,
                                            "iothread": d.get("iothread") or mapping or None,
                                            "bootindex": str(d["bootindex"])
                                            if "bootindex" in d else None}
    return out


def libvirt_pins(xml_path):
    root = ET.parse(xml_path).getroot()
    ct = root.find("cputune")
    pins = {"vcpus": [], "emulator": [], "iothreads": {}}
    if ct is None:
        return pins

    def cpus(s):
        out = set()
        for part in s.split(","):
            if part.startswith("^"):
                out.discard(int(part[1:]))
            elif "-" in part:
                a, b = part.split("-")
                out.update(range(int(a), int(b) + 1))
            else:
                out.add(int(part))
        return sorted(out)
    vcpus = int(root.find("vcpu").text)
    by_vcpu = {int(p.get("vcpu")): cpus(p.get("cpuset")) for p in ct.findall("vcpupin")}
    if by_vcpu:
        pins["vcpus"] = [by_vcpu.get(i) for i in range(vcpus)]
    e = ct.find("emulatorpin")
    if e is not None:
        pins["emulator"] = cpus(e.get("cpuset"))
    for p in ct.findall("iothreadpin"):
        pins["iothreads"]["iothread" + p.get("iothread")] = cpus(p.get("cpuset"))
    return pins


def plan_pins(plan):
    p = plan["pins"]
    # plan lists each vCPU's CPUs; libvirt's vcpupin gives one set per vCPU
    vc = [sorted(v) if isinstance(v, list) else [v] for v in p.get("vcpus", [])]
    its = {k: sorted(v) for k, v in p.get("iothreads", {}).items() if v}
    return {"vcpus": vc, "emulator": sorted(p.get("emulator", [])), "iothreads": its}


def compare(case, element, ours, theirs, ini):
    if ours == theirs:
        print(f"  same {element}: {ours}")
        return
    tol = TOLERATED.get(case, {}).get(element)
    if not tol:
        fail(case, f"{element}: vmlaunch {ours!r}, libvirt {theirs!r}")
        return
    needle, reason = tol
    # None: equivalent through QEMU's default, nothing for the user to know
    if needle is not None and needle not in ini:
        fail(case, f"{element} differs ({reason}) but the import says no '{needle}'")
        return
    print(f"  tolerated {element}: vmlaunch {ours!r}, libvirt {theirs!r}: {reason}")


def run_case(case, workdir):
    xml = os.path.join(FIXTURES, case + ".xml")
    args = os.path.join(FIXTURES, case + ".x86_64-latest.args")
    imp = subprocess.run([VMLAUNCH, "import-libvirt", "--name", case, xml],
                         capture_output=True, text=True)
    if imp.returncode != 0:
        fail(case, f"import-libvirt exited {imp.returncode}: {imp.stderr}")
        return
    ini = imp.stdout
    print(f"== {case}")
    root = ET.parse(xml).getroot()
    if root.get("type") == "qemu" and "\naccel = tcg\n" not in ini:
        fail(case, "type='qemu' is not accel = tcg")
    path = os.path.join(workdir, case + ".ini")
    with open(path, "w") as f:
        f.write(ini.replace("\naccel = tcg\n", "\naccel = kvm\n"))
    os.chmod(path, 0o644)
    cmd = [VMLAUNCH, "plan", "--json", path]
    if os.geteuid() != 0:
        cmd.insert(3, "--allow-unsafe-owner")
    pl = subprocess.run(cmd, capture_output=True, text=True)
    if pl.returncode != 0:
        fail(case, f"plan exited {pl.returncode}: {pl.stderr}{pl.stdout[:2000]}")
        return
    plan = json.loads(pl.stdout)
    ours, theirs = plan["qemu"]["argv"], libvirt_argv(args)

    compare(case, "machine", optdict(values(ours, "-machine")[0])[0],
            optdict(values(theirs, "-machine")[0])[0], ini)
    s_ours, s_theirs = smp(ours), smp(theirs)
    compare(case, "smp", s_ours, s_theirs, ini)
    compare(case, "memory", memory(ours, {"mem"}), memory(theirs, {"pc.ram"}), ini)
    m_ours, f_ours = cpu(ours)
    m_theirs, f_theirs = cpu(theirs)
    compare(case, "cpu.model", m_ours, m_theirs, ini)
    for k in sorted(set(f_ours) | set(f_theirs)):
        compare(case, "cpu." + k, f_ours.get(k), f_theirs.get(k), ini)
    a_ours, a_theirs = accel_options(ours), accel_options(theirs)
    for k in sorted(set(a_ours) | set(a_theirs)):
        compare(case, "accel." + k, a_ours.get(k), a_theirs.get(k), ini)
    fw_ours, fw_theirs = firmware(ours), firmware(theirs)
    for k in sorted(set(fw_ours) | set(fw_theirs)):
        compare(case, "firmware." + k, fw_ours.get(k), fw_theirs.get(k), ini)
    compare(case, "iothreads", iothreads(ours), iothreads(theirs), ini)
    compare(case, "hostdevs", hostdevs(ours), hostdevs(theirs), ini)
    d_ours, d_theirs = disks(ours), disks(theirs)
    for f in sorted(set(d_ours) | set(d_theirs)):
        compare(case, "disks." + f, d_ours.get(f), d_theirs.get(f), ini)
    compare(case, "uuid", values(ours, "-uuid"), values(theirs, "-uuid"), ini)
    lp, pp = libvirt_pins(xml), plan_pins(plan)
    for k in ("vcpus", "emulator", "iothreads"):
        compare(case, "pins." + k, pp[k], lp[k], ini)


def main():
    import shutil
    if not shutil.which("qemu-system-x86_64"):
        print("skipped: qemu-system-x86_64 is not installed (plan probes its version)")
        return 77
    cases = sorted(f[:-4] for f in os.listdir(FIXTURES) if f.endswith(".xml"))
    if not cases:
        print("FAIL: no fixtures")
        return 1
    print("tolerated for every domain:")
    for k, v in ALWAYS.items():
        print(f"  {k}: {v}")
    with tempfile.TemporaryDirectory(prefix="vmlaunch-import-") as workdir:
        os.chmod(workdir, 0o755)
        for case in cases:
            run_case(case, workdir)
    print(f"{len(cases)} domains, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
