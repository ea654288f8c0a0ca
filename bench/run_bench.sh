#!/bin/bash
# Measures `vmlaunch run` against bare QEMU doing the same steps:
#  1. time from start to a running, pinned guest (vmlaunch: the "is running" log
#     line; bare: Python spawns QEMU -S, QMP handshake, query-cpus-fast and
#     query-iothreads, sched_setaffinity per thread, cont), and the CPU time
#     vmlaunch itself used until then;
#  2. time from QEMU's exit (`quit` sent straight to the control socket, so no
#     vmlaunch process is involved) to vmlaunch's exit, both seen through pidfds;
#  3. vmlaunch's wakeups while the guest idles (voluntary context switches);
#  4. vmlaunch's peak RSS (VmHWM), and what is resident while it supervises, by
#     mapping (/proc/PID/smaps).
# The runs alternate (vmlaunch then bare, bare then vmlaunch, ...) and each pair's
# ratio is reported, so load from other work on the machine hits both sides alike.
# Usage: bench/run_bench.sh [BUILD_DIR] [RUNS] [IDLE_SECONDS]   (root; QEMU installed)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-10}
idle_s=${3:-20}
vmlaunch=$PWD/$build/launcher/vmlaunch
[ -x "$vmlaunch" ] || { echo "build first: $vmlaunch is missing"; exit 1; }

tmp=$(mktemp -d /tmp/vmlaunch-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export VMLAUNCH_RUNTIME_DIR=$tmp/run VMLAUNCH_CONFIG_DIR=$tmp/etc
mkdir -p "$VMLAUNCH_CONFIG_DIR"
install -m 0644 -o root -g root tests/integration/launcher/pinned.ini "$VMLAUNCH_CONFIG_DIR/vltest.ini"
"$vmlaunch" plan --json vltest >"$tmp/plan.json"

python3 - "$vmlaunch" "$tmp" "$runs" "$idle_s" <<'PY'
import json, os, select, socket, statistics, subprocess, sys, time

vmlaunch, tmp, runs, idle_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
plan = json.load(open(f"{tmp}/plan.json"))
env = dict(os.environ)

def status_field(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return line.split()[1]

def vmlaunch_once(measure_idle=False):
    log = open(f"{tmp}/run.log", "w+")
    t0 = time.monotonic()
    p = subprocess.Popen([vmlaunch, "run", "vltest"], stdout=log, stderr=subprocess.STDOUT, env=env)
    while True:
        log.seek(0)
        if "is running" in log.read():
            break
        if p.poll() is not None:
            sys.exit("vmlaunch ended early:\n" + open(f"{tmp}/run.log").read())
        time.sleep(0.001)
    ready = time.monotonic() - t0
    cpu = on_cpu_s(p.pid)
    idle = None
    if measure_idle:
        before = int(status_field(p.pid, "voluntary_ctxt_switches"))
        time.sleep(idle_s)
        idle = int(status_field(p.pid, "voluntary_ctxt_switches")) - before
    hwm = int(status_field(p.pid, "VmHWM"))
    maps = rss_by_mapping(p.pid) if measure_idle else None
    exit_latency = quit_and_time_exit(p)
    return ready, idle, hwm, exit_latency, maps, cpu

def on_cpu_s(pid):
    """Seconds pid's threads have run (schedstat, ns): unlike wall time, load barely moves it."""
    return sum(int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
               for t in os.listdir(f"/proc/{pid}/task")) / 1e9

def rss_by_mapping(pid):
    """kB resident per mapped file (libraries by name) or [heap]/[stack]/[anon]."""
    rss, name = {}, None
    for line in open(f"/proc/{pid}/smaps"):
        f = line.split()
        if not f[0].endswith(":"):  # a mapping's header: address range, ..., [path]
            name = os.path.basename(f[5]) if len(f) > 5 else "[anon]"
        elif f[0] == "Rss:":
            rss[name] = rss.get(name, 0) + int(f[1])
    return rss

def state_field(key):
    for line in open(os.environ["VMLAUNCH_RUNTIME_DIR"] + "/vltest/state"):
        if line.startswith(key + "="):
            return line.strip().split("=", 1)[1]

def quit_and_time_exit(p):
    """Seconds from QEMU's exit to vmlaunch's exit after a `quit`."""
    qemu_fd = os.pidfd_open(int(state_field("qemu_pid")))
    vmlaunch_fd = os.pidfd_open(p.pid)
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["VMLAUNCH_RUNTIME_DIR"] + "/vltest/ctl.qmp")
    f = s.makefile()
    f.readline()  # greeting
    qmp(s, f, "qmp_capabilities")
    s.sendall(b'{"execute": "quit"}\n')
    poller = select.poll()
    poller.register(qemu_fd, select.POLLIN)
    poller.register(vmlaunch_fd, select.POLLIN)
    gone = {}
    while len(gone) < 2:
        for fd, _ in poller.poll(20000):
            gone.setdefault(fd, time.monotonic())
            poller.unregister(fd)
    s.close()
    os.close(qemu_fd)
    os.close(vmlaunch_fd)
    p.wait(timeout=20)
    return gone[vmlaunch_fd] - gone[qemu_fd]

def qmp(sock, f, cmd):
    sock.sendall(json.dumps({"execute": cmd}).encode() + b"\n")
    while True:
        msg = json.loads(f.readline())
        if "return" in msg or "error" in msg:
            return msg.get("return")

def bare_once():
    run_dir = f"{tmp}/bare"
    os.makedirs(run_dir, exist_ok=True)
    for s in ("qmp.sock", "ctl.qmp"):
        try:
            os.unlink(f"{run_dir}/{s}")
        except FileNotFoundError:
            pass
    planned_dir = os.environ["VMLAUNCH_RUNTIME_DIR"] + "/vltest"
    argv = [a.replace(planned_dir, run_dir).replace("/run/vmlaunch/vltest", run_dir)
            for a in plan["qemu"]["argv"]]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.sched_setaffinity(0, {1}))
    s = socket.socket(socket.AF_UNIX)
    while True:
        try:
            s.connect(f"{run_dir}/qmp.sock")
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if p.poll() is not None:
                sys.exit(f"bare QEMU exited with {p.returncode}")
            time.sleep(0.001)
    f = s.makefile()
    f.readline()  # greeting
    qmp(s, f, "qmp_capabilities")
    pins = {0: {1}, 1: {0}}
    for cpu in qmp(s, f, "query-cpus-fast"):
        os.sched_setaffinity(cpu["thread-id"], pins[cpu["cpu-index"]])
    for io in qmp(s, f, "query-iothreads"):
        os.sched_setaffinity(io["thread-id"], {0})
    qmp(s, f, "cont")
    ready = time.monotonic() - t0
    qmp(s, f, "quit")
    p.wait(timeout=10)
    return ready

# One untimed run each first: vmlaunch's first start probes `qemu -version` (later
# ones read the cache in the run dir), and both then start from a warm page cache.
vmlaunch_once()
bare_once()
vm, bare = [], []
for i in range(runs):
    if i % 2:
        bare.append(bare_once())
        vm.append(vmlaunch_once())
    else:
        vm.append(vmlaunch_once())
        bare.append(bare_once())
_, idle, hwm, _, maps, _ = vmlaunch_once(measure_idle=True)
ratios = [v[0] / b for v, b in zip(vm, bare)]
ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, min {min(xs) * 1000:.1f} ms, max {max(xs) * 1000:.1f} ms"
print(f"start to running+pinned, {runs} runs each, alternating:")
print(f"  vmlaunch run:  {ms([r[0] for r in vm])}")
print(f"  bare QEMU+QMP: {ms(bare)}")
print(f"  vmlaunch / bare, pairwise: median {statistics.median(ratios):.2f}x, min {min(ratios):.2f}x")
print(f"  vmlaunch's own CPU time until then: {ms([r[5] for r in vm])}")
print(f"QEMU exit to vmlaunch exit: {ms([r[3] for r in vm])}")
print(f"vmlaunch idle wakeups: {idle} voluntary context switches in {idle_s} s")
peak = max([r[2] for r in vm] + [hwm])
print(f"vmlaunch peak RSS (VmHWM): {peak} kB ({peak / 1024:.2f} MiB)")
print(f"resident while supervising, by mapping ({sum(maps.values())} kB):")
for name, kb in sorted(maps.items(), key=lambda m: -m[1]):
    if kb:
        print(f"  {kb:6d} kB  {name}")
PY
