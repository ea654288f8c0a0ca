#!/usr/bin/env python3
"""The platform options vmlaunch emits are accepted by a real QEMU (TCG) and land:
-smbios type=0..3 from the host's DMI strings, -fw_cfg opt/ovmf/X-PciMmio64Mb for a
GPU with a 32 GiB BAR (and `check`'s Resizable BAR note), and -global ICH9-LPC.disable_s3/_s4 for a Windows guest.

The host is a small fixture tree given to the test-seams vmlaunch with
VMLAUNCH_SYSROOT: /sys/class/dmi/id with commas and '=' in its strings, and a GPU
(group 7: VGA + audio) whose resource files show a 32 GiB and a 32 MiB 64-bit
prefetchable BAR. `vmlaunch plan --json` gives the argv; the GPU's own devices
(vfio-pci and its root port: no IOMMU or GPU here, tests/system covers them) are
taken out and the rest is started exactly as planned, paused (-S). QMP then checks
query-uuid (the host's product_uuid: type 1 was parsed past its escaped serial) and
qom-get disable_s3/disable_s4 on the ICH9-LPC bridge; QEMU accepting -fw_cfg and the
other SMBIOS types is all QMP can show for them (it has no query for either).

Not here: -global kvm-pit.lost_tick_policy, which vmlaunch emits only under KVM
(unit tests cover it; QEMU 7.2 under TCG accepts the option and ignores it).
"""
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import every_device_reaches_qemu as it  # noqa: E402  (its QEMU and QMP helpers)

UUID = "5a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
DMI = {
    "bios_vendor": "American Megatrends Inc.",
    "bios_version": "1602",
    "bios_date": "08/11/2023",
    "sys_vendor": "ACME, Inc.",
    "product_name": "System Product Name",
    "product_serial": "SN,42=x",
    "product_uuid": UUID,
    "product_family": "To Be Filled By O.E.M.",
    "board_vendor": "ASUSTeK COMPUTER INC.",
    "board_name": "ROG STRIX X670E-E GAMING WIFI",
    "board_version": "Rev 1.xx, B2",
    "chassis_vendor": "Default string",
    "chassis_asset_tag": "Default string",
}
# start end flags: BAR 0 registers, BAR 1 32 GiB and BAR 3 32 MiB 64-bit prefetchable
GPU_RESOURCE = """0x00000000fb000000 0x00000000fbffffff 0x0000000000040200
0x0000007000000000 0x00000077ffffffff 0x000000000014220c
0x0000000000000000 0x0000000000000000 0x0000000000000000
0x0000007800000000 0x0000007801ffffff 0x000000000014220c
"""

DEFINITION = """[vm]
name = vltest-platform
[qemu]
accel = tcg
[memory]
size = 128M
[firmware]
type = uefi
vars = {tmp}/OVMF_VARS.fd
[cpu]
model = max
cores = 1
[hyperv]
enabled = yes
[gpu]
address = 0000:01:00.0
[smbios]
mode = host
[host]
vtconsoles = off
framebuffer = off
unload_modules = off
governor = off
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_sysroot(root):
    for name, value in DMI.items():
        write(f"{root}/sys/class/dmi/id/{name}", value + "\n")
    for addr, cls in (("0000:01:00.0", "0x030000"), ("0000:01:00.1", "0x040300")):
        dev = f"{root}/sys/bus/pci/devices/{addr}"
        write(f"{dev}/class", cls + "\n")
        write(f"{dev}/driver_override", "(null)\n")
        write(f"{dev}/resource", GPU_RESOURCE if addr.endswith(".0") else
              "0x00000000fc080000 0x00000000fc083fff 0x0000000000040200\n")
        if addr.endswith(".0"):  # the card offers to resize BAR 1 (Resizable BAR)
            write(f"{dev}/resource1_resize", "0000000000003f00\n")
        os.symlink("../../../../kernel/iommu_groups/7", f"{dev}/iommu_group")
        os.makedirs(f"{root}/sys/kernel/iommu_groups/7/devices", exist_ok=True)
        os.symlink(f"../../../../bus/pci/devices/{addr}",
                   f"{root}/sys/kernel/iommu_groups/7/devices/{addr}")


def without_gpu_devices(argv):
    """argv without the -device pairs of the GPU (vfio-pci and its root port)."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "-device" and i + 1 < len(argv) and (
                argv[i + 1].startswith("vfio-pci,") or "id=gpu-port" in argv[i + 1]):
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def lpc_path(qmp):
    for child in qmp("qom-list", path="/machine/unattached"):
        if child["type"] == "child<ICH9-LPC>":
            return f"/machine/unattached/{child['name']}"
    raise it.Fatal("no ICH9-LPC under /machine/unattached")


def main():
    if shutil.which(it.QEMU) is None:
        it.skip(f"{it.QEMU} is not installed")
    if os.getuid() != 0:
        it.skip("needs root: vmlaunch wants root-owned definitions")
    if os.environ.get("TEST_SEAMS") != "true":
        it.skip("needs a -Dtest-seams=true vmlaunch (VMLAUNCH_SYSROOT)")
    tmp = tempfile.mkdtemp(prefix="vmlaunch-it.")
    it.cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    config_dir = os.path.join(tmp, "etc")
    os.mkdir(config_dir)
    root = os.path.join(tmp, "root")
    make_sysroot(root)
    shutil.copy(it.OVMF_VARS_TEMPLATE, os.path.join(tmp, "OVMF_VARS.fd"))
    os.environ.update(VMLAUNCH_RUNTIME_DIR=os.path.join(tmp, "run"),
                      VMLAUNCH_CONFIG_DIR=config_dir, VMLAUNCH_SYSROOT=root)
    it.install_def(config_dir, "vltest-platform", DEFINITION.format(tmp=tmp))

    planned = it.plan_argv("vltest-platform")
    pairs = list(zip(planned, planned[1:]))
    smbios = [v for f, v in pairs if f == "-smbios"]
    it.expect([v.split(",")[0] for v in smbios] == ["type=0", "type=1", "type=2", "type=3"],
              f"plan's -smbios options are {smbios}, expected one per type 0-3")
    it.expect(("-smbios", "type=1,manufacturer=ACME,, Inc.,product=System Product Name,"
               f"serial=SN,,42=x,uuid={UUID},family=To Be Filled By O.E.M.") in pairs,
              f"plan's type 1 is not the host's, escaped: {smbios}")
    it.expect(("-fw_cfg", "name=opt/ovmf/X-PciMmio64Mb,string=65536") in pairs,
              "plan has no -fw_cfg X-PciMmio64Mb of 65536 MiB for the 32 GiB BAR")
    for g in ("ICH9-LPC.disable_s3=1", "ICH9-LPC.disable_s4=1"):
        it.expect(("-global", g) in pairs, f"plan has no -global {g}")
    it.expect(not any(v.startswith("kvm-pit") for f, v in pairs if f == "-global"),
              "plan has a kvm-pit -global under TCG")

    text = it.run(it.VMLAUNCH, "plan", "vltest-platform")
    it.expect("64-bit PCI window: 65536 MiB" in text,
              "`vmlaunch plan` does not say it opens a 65536 MiB 64-bit PCI window")
    it.expect("SMBIOS: the host's (13 of 19 strings" in text,
              "`vmlaunch plan` does not say it copies the host's 13 SMBIOS strings")

    # check reports Resizable BAR whatever else this fixture host lacks
    check = it.subprocess.run([it.VMLAUNCH, "check", "vltest-platform"], capture_output=True,
                              text=True)
    it.expect("0000:01:00.0 BAR 1 supports Resizable BAR" in check.stdout + check.stderr,
              f"`vmlaunch check` does not report Resizable BAR:\n{check.stderr}")

    argv = without_gpu_devices(planned)
    log = os.path.join(tmp, "qemu.log")
    qmp_path = os.path.join(tmp, "qmp.sock")
    del os.environ["VMLAUNCH_SYSROOT"]
    qemu = it.start_qemu(argv, log, None, qmp_path)
    qmp = it.Qmp(qmp_path, qemu, log)
    status = qmp("query-status")
    it.expect(status["status"] == "prelaunch", f"QEMU is {status['status']}, not paused (-S)")
    uuid = qmp("query-uuid")["UUID"]
    it.expect(uuid == UUID, f"query-uuid is {uuid}, not the host's product_uuid {UUID}")
    lpc = lpc_path(qmp)
    for prop in ("disable_s3", "disable_s4"):
        value = qmp.get(lpc, prop)
        it.expect(value == 1, f"{lpc} {prop} is {value}, expected 1")
    qmp("quit")
    try:
        qemu.wait(timeout=30)
    except it.subprocess.TimeoutExpired:
        raise it.Fatal("QEMU still runs 30 s after quit")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed by SIGTERM"))
    code = 0
    try:
        main()
    except it.Fatal as e:
        it.problems.append(str(e))
    finally:
        for undo in reversed(it.cleanups):
            try:
                undo()
            except OSError as e:
                print(f"cleanup: {e}")
    for p in it.problems:
        print(f"FAIL: {p}")
        code = 1
    if not code:
        print("ok")
    sys.exit(code)
