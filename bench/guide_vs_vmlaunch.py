#!/usr/bin/env python3
"""One timed round of the guide's hooks or of vmlaunch, inside the emulated host.

  guide_vs_vmlaunch.py guide ROUND PLAN_JSON WORKDIR   start.sh, bare QEMU, quit, revert.sh
  guide_vs_vmlaunch.py vmlaunch ROUND WORKDIR          vmlaunch run gpu, quit
  guide_vs_vmlaunch.py table RESULTS_JSONL             the markdown table

A round prints one JSON line: t_running = t1 - t0 (command to guest running) and
t_restore = t3 - t2 (QEMU gone to display manager active), in seconds, plus the
time of every line the tool printed (relative to t0 or t2) for a closer look.
Every wait is on an event (pipe, pidfd, inotify, QMP message), never a timer.
"""
import ctypes
import errno
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import threading
import time

DM = "display-manager.service"
HERE = os.path.dirname(os.path.abspath(__file__))
VMLAUNCH = os.environ.get("VMLAUNCH", "vmlaunch")
RUNTIME_DIR = os.environ.get("VMLAUNCH_RUNTIME_DIR", "/run/vmlaunch")
TIMEOUT_MS = 120_000
IN_CREATE = 0x100


class Lines:
    """Reads a process's stdout+stderr in a thread, timestamping each line on arrival."""

    def __init__(self, proc, wanted=None):
        self.lines, self.wanted, self.seen_at = [], wanted, None
        self.event = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self.thread.start()

    def _read(self, pipe):
        for raw in iter(pipe.readline, b""):
            now = time.monotonic()
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append((now, line))
            if self.wanted and self.seen_at is None and self.wanted in line:
                self.seen_at = now
                self.event.set()
        self.event.set()  # EOF: the process is gone, whatever it said

    def relative(self, base):
        return [[round(t - base, 3), line] for t, line in self.lines]


def spawn_logged(argv, **kw):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, **kw)


def run_logged(argv):
    proc = spawn_logged(argv)
    lines = Lines(proc)
    proc.wait()
    lines.thread.join()
    return proc.returncode, lines


def wait_readable(fds, what):
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    ready = poller.poll(TIMEOUT_MS)
    if not ready:
        sys.exit(f"timed out after {TIMEOUT_MS // 1000} s: {what}")
    return {fd for fd, _ in ready}


def dm_active():
    """Returns once the display manager is active: at once when it is, by joining its
    start job when one runs. Anything else means the host was not restored."""
    state = subprocess.run(["systemctl", "is-active", DM], capture_output=True, text=True).stdout.strip()
    if state in ("activating", "reloading"):
        subprocess.run(["systemctl", "start", DM], check=True)  # waits for the queued job
        state = subprocess.run(["systemctl", "is-active", DM], capture_output=True, text=True).stdout.strip()
    if state != "active":
        sys.exit(f"{DM} is {state} after the restore")


class Qmp:
    def __init__(self, sock):
        self.sock, self.file = sock, sock.makefile("rb")
        self.greeting = self.read()
        self.command("qmp_capabilities")

    def read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("QMP socket closed")
        return json.loads(line)

    def command(self, name):
        self.sock.sendall(json.dumps({"execute": name}).encode() + b"\n")
        while True:
            msg = self.read()
            if "error" in msg:
                raise RuntimeError(f"{name}: {msg['error']}")
            if "return" in msg:
                return msg["return"]

    def wait_event(self, name):
        while self.read().get("event") != name:
            pass

    def send_quit(self):
        # QEMU may close the socket before or after answering: do not read.
        self.sock.sendall(b'{"execute": "quit"}\n')


def connect_when_created(path, pidfd):
    """Connects to QEMU's QMP socket as soon as QEMU has created it (inotify on its
    folder, so no polling); fails when QEMU exits first."""
    libc = ctypes.CDLL(None, use_errno=True)
    ino = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
    if ino < 0 or libc.inotify_add_watch(ino, os.path.dirname(path).encode(), IN_CREATE) < 0:
        sys.exit(f"inotify: {os.strerror(ctypes.get_errno())}")
    try:
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                return s
            except OSError as e:
                s.close()
                if e.errno == errno.ECONNREFUSED:  # bound, listen() comes next
                    os.sched_yield()
                    continue
                if e.errno != errno.ENOENT:
                    raise
            if pidfd in wait_readable([ino, pidfd], f"{path} appears"):
                sys.exit(f"QEMU exited before creating {path}")
            try:
                os.read(ino, 4096)
            except BlockingIOError:
                pass
    finally:
        os.close(ino)


def guide_round(rnd, plan_json, workdir):
    os.makedirs(workdir)
    argv = json.load(open(plan_json))["qemu"]["argv"]
    # The same command line vmlaunch plans, with its sockets in our folder, and without
    # -S: nobody pins threads before the guest runs (libvirt would, the guide does not).
    planned = f"{RUNTIME_DIR}/gpu/"
    argv = [a.replace(planned, workdir + "/") for a in argv if a != "-S"]
    qmp_path = f"{workdir}/qmp.sock"
    marks = {}

    t0 = time.monotonic()
    start_status, start_lines = run_logged([f"{HERE}/guide/start.sh"])
    marks["start.sh done"] = time.monotonic() - t0
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(f"{workdir}/qemu.log", "w"),
                            stderr=subprocess.STDOUT)
    pidfd = os.pidfd_open(qemu.pid)
    try:
        sock = connect_when_created(qmp_path, pidfd)
        marks["QMP connected"] = time.monotonic() - t0
        qmp = Qmp(sock)
        marks["QMP greeting + capabilities"] = time.monotonic() - t0
        if qmp.command("query-status")["status"] != "running":
            qmp.wait_event("RESUME")
        t1 = time.monotonic()

        qmp.send_quit()
        wait_readable([pidfd], "QEMU exits after quit")
        t2 = time.monotonic()
    except BaseException:
        # libvirt runs the release hook after a failed start too: give the host back.
        qemu.kill()
        qemu.wait()
        run_logged([f"{HERE}/guide/revert.sh"])
        print(open(f"{workdir}/qemu.log").read(), file=sys.stderr)
        raise
    qemu.wait()
    sock.close()
    os.close(pidfd)
    revert_status, revert_lines = run_logged([f"{HERE}/guide/revert.sh"])
    marks["revert.sh done"] = time.monotonic() - t0
    dm_active()
    t3 = time.monotonic()
    return {"tool": "guide", "round": rnd, "t_running": t1 - t0, "t_restore": t3 - t2,
            "start_status": start_status, "revert_status": revert_status,
            "qemu_status": qemu.returncode, "marks": {k: round(v, 3) for k, v in marks.items()},
            "start_log": start_lines.relative(t0), "revert_log": revert_lines.relative(t2)}


def vmlaunch_round(rnd, workdir):
    os.makedirs(workdir)
    t0 = time.monotonic()
    run = spawn_logged([VMLAUNCH, "run", "gpu"])
    lines = Lines(run, wanted="guest gpu is running")
    if not lines.event.wait(TIMEOUT_MS / 1000) or lines.seen_at is None:
        run.terminate()  # no-op when it has ended; else it stops QEMU and restores
        run.wait()
        lines.thread.join()
        print("\n".join(line for _, line in lines.lines), file=sys.stderr)
        sys.exit(f"vmlaunch run ended (status {run.returncode}) before the guest ran")
    t1 = lines.seen_at

    state = dict(line.rstrip("\n").split("=", 1) for line in open(f"{RUNTIME_DIR}/gpu/state") if "=" in line)
    qemu_fd = os.pidfd_open(int(state["qemu_pid"]))
    run_fd = os.pidfd_open(run.pid)
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(f"{RUNTIME_DIR}/gpu/ctl.qmp")
    Qmp(sock).send_quit()
    wait_readable([qemu_fd], "QEMU exits after quit")
    t2 = time.monotonic()
    wait_readable([run_fd], "vmlaunch exits after QEMU")
    marks = {"vmlaunch exited (after t2)": time.monotonic() - t2}
    run.wait()
    lines.thread.join()
    sock.close()
    os.close(qemu_fd)
    os.close(run_fd)
    dm_active()
    t3 = time.monotonic()
    log = lines.relative(t0)
    return {"tool": "vmlaunch", "round": rnd, "t_running": t1 - t0, "t_restore": t3 - t2,
            "run_status": run.returncode, "marks": {k: round(v, 3) for k, v in marks.items()},
            "log": log, "log_after_t2": [[round(t - (t2 - t0), 3), l] for t, l in log if t >= t2 - t0]}


def table(results_path):
    rows = [json.loads(line) for line in open(results_path)]
    rows = [r for r in rows if r["round"] > 0]  # round 0 warms the caches
    ok = {tool: [r for r in rows if r["tool"] == tool and "failed" not in r] for tool in ("guide", "vmlaunch")}
    failed = {tool: sum(1 for r in rows if r["tool"] == tool and "failed" in r) for tool in ok}

    def stats(tool, key):
        xs = [r[key] for r in ok[tool]]
        return (statistics.median(xs), min(xs)) if xs else (float("nan"), float("nan"))

    n = {tool: f"{len(ok[tool])}" + (f" ok, {failed[tool]} failed" if failed[tool] else "") for tool in ok}
    print(f"| phase (seconds; guide: {n['guide']} rounds, vmlaunch: {n['vmlaunch']}) "
          "| guide median | guide min | vmlaunch median | vmlaunch min | guide / vmlaunch (median) |")
    print("|---|---:|---:|---:|---:|---:|")
    for key, label in (("t_running", "command to guest running (t1-t0)"),
                       ("t_restore", "guest exit to display manager active (t3-t2)")):
        gm, gn = stats("guide", key)
        vm, vn = stats("vmlaunch", key)
        print(f"| {label} | {gm:.2f} | {gn:.2f} | {vm:.2f} | {vn:.2f} | {gm / vm:.2f}x |")
    print()
    print("Per round (t1-t0 / t3-t2, seconds):")
    for r in rows:
        what = f"FAILED: {r['failed']}" if "failed" in r else f"{r['t_running']:.2f} / {r['t_restore']:.2f}"
        print(f"- round {r['round']} {r['tool']}: {what}")


def main():
    verb = sys.argv[1] if len(sys.argv) > 1 else ""
    if verb in ("guide", "vmlaunch") and len(sys.argv) == (5 if verb == "guide" else 4):
        # A failed run is a result too (the host is given back either way): report it
        # and let the next round go on.
        try:
            if verb == "guide":
                result = guide_round(int(sys.argv[2]), sys.argv[3], sys.argv[4])
            else:
                result = vmlaunch_round(int(sys.argv[2]), sys.argv[3])
        except (SystemExit, Exception) as e:
            result = {"tool": verb, "round": int(sys.argv[2]), "failed": str(e)}
        print(json.dumps(result))
    elif verb == "table" and len(sys.argv) == 3:
        table(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
