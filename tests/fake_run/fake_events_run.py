#!/usr/bin/env python3
"""A stand-in for a running vmlaunch, as `events` and `wait` see one: it holds
RUN_DIR/lock, writes RUN_DIR/state, and only after --delay-socket creates
RUN_DIR/events.sock (the race a client meets while the run starts up). Its one
listener must ask {"request":"events"}; it is sent the hello line, then the given
event lines, then the stream ends (EOF); the lock goes with it, as a run's does.

  fake_events_run.py RUN_DIR NAME --pid PID [--delay-socket FILE] [--hold FILE]
                     [--no-socket] LINE...

--delay-socket FILE: create the socket only once FILE exists (the test creates it
after the client started). --hold FILE: after the lines, keep the stream open until
FILE exists. --silent: send nothing at all (a run busy in a long host step).
--no-socket: never create the socket; release the lock once FILE
(--delay-socket) exists. LINE is an event name or EVENT:STATE or a JSON object.
"""
import argparse
import fcntl
import json
import os
import socket
import sys
import time


def wait_for(path, limit_s=60):
    deadline = time.monotonic() + limit_s
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit(f"fake run: {path} did not appear")
        time.sleep(0.02)


def line_of(spec, name, state):
    if spec.startswith("{"):
        obj = json.loads(spec)
    else:
        event, _, state = spec.partition(":") if ":" in spec else (spec, "", state)
        obj = {"event": event}
    obj.setdefault("time", 1764601445.5)  # 2026-12-01 15:04:05.5 UTC
    obj.setdefault("vm", name)
    if "state" not in obj and obj.get("event") not in ("lagged",) and "error" not in obj:
        obj["state"] = state
    return json.dumps(obj)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("name")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--state", default="preparing")
    ap.add_argument("--hello", default=None, help="extra hello fields as JSON")
    ap.add_argument("--delay-socket")
    ap.add_argument("--hold")
    ap.add_argument("--no-socket", action="store_true")
    ap.add_argument("--silent", action="store_true",
                    help="send nothing until --hold: a run busy in a long host step")
    ap.add_argument("lines", nargs="*")
    a = ap.parse_intermixed_args()

    os.makedirs(a.run_dir, mode=0o700, exist_ok=True)
    lock = open(os.path.join(a.run_dir, "lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    with open(os.path.join(a.run_dir, "state"), "w") as f:
        f.write(f"pid={a.pid}\nstate={a.state}\n")
    print("locked", flush=True)
    sock_path = os.path.join(a.run_dir, "events.sock")
    if a.delay_socket:
        wait_for(a.delay_socket)
    if not a.no_socket:
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(sock_path)
        srv.listen(4)
        srv.settimeout(60)  # a client that never comes: fail, do not hang the test
        conn, _ = srv.accept()
        request = b""
        while not request.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            request += chunk
        if json.loads(request) != {"request": "events"}:
            sys.exit(f"fake run: unexpected request {request!r}")
        hello = {"event": "hello", "time": 1764601445.5, "vm": a.name, "state": a.state,
                 "step": None, "pid": a.pid, "qemu_pid": None, "guest": None, "agent": None,
                 "ready": False}
        hello.update(json.loads(a.hello) if a.hello else {})
        out = [json.dumps(hello)]
        state = a.state
        for spec in a.lines:
            out.append(line_of(spec, a.name, state))
            state = json.loads(out[-1]).get("state", state)
        if not a.silent:
            conn.sendall(("\n".join(out) + "\n").encode())
        if a.hold:
            wait_for(a.hold)
        conn.close()
        srv.close()
        os.unlink(sock_path)
    # The end of a run: its files go, then the lock.
    os.unlink(os.path.join(a.run_dir, "state"))
    os.unlink(os.path.join(a.run_dir, "lock"))
    lock.close()
    try:
        os.rmdir(a.run_dir)
    except OSError:
        pass


main()
