#!/usr/bin/env python3
"""Speaks the QEMU guest agent protocol over a chardev's UNIX socket, for the tests.

    guest_agent.py SOCKET [--timeout S] COMMAND...

COMMAND is `sync` (guest-sync-delimited with a random id, retried until the agent
answers with that id: it resets the agent's parser and drops stale replies), a JSON
request, which must get a reply (printed as one JSON line), or `send:JSON`, a request
that gets none (guest-shutdown). Exit 0 when every command got what it should, 1 with
the reason otherwise (timeout, error reply, wrong id).
"""
import json
import random
import socket
import sys
import time

DELIMITER = b"\xff"  # what guest-sync-delimited puts before its reply
SYNC_RETRY_S = 2.0


class Agent:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
        self.sock.connect(path)
        self.buf = b""

    def send(self, request):
        self.sock.sendall(json.dumps(request).encode() + b"\n")

    def _read_more(self, until):
        left = min(until, self.deadline) - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit("the agent's socket closed")
        self.buf += data

    def reply(self, until):
        """The next JSON line from the agent, skipping delimiters and blank lines."""
        while True:
            self.buf = self.buf.lstrip(DELIMITER + b"\r\n ")
            line, newline, rest = self.buf.partition(b"\n")
            if newline:
                self.buf = rest
                return json.loads(line)
            self._read_more(until)

    def sync(self):
        while True:
            sync_id = random.randrange(1, 2**31)
            # A leading 0xFF makes the agent drop whatever half request it holds.
            self.sock.sendall(DELIMITER)
            self.send({"execute": "guest-sync-delimited", "arguments": {"id": sync_id}})
            until = time.monotonic() + SYNC_RETRY_S
            try:
                while True:
                    # The reply to this sync comes after a delimiter; anything
                    # before it answers an earlier, timed-out sync.
                    while DELIMITER not in self.buf:
                        self._read_more(until)
                    self.buf = self.buf[self.buf.index(DELIMITER) :]
                    answer = self.reply(until)
                    if answer.get("return") == sync_id:
                        return sync_id
            except (TimeoutError, socket.timeout):
                if time.monotonic() >= self.deadline:
                    raise SystemExit("the agent did not answer guest-sync-delimited")


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    path = args.pop(0)
    timeout_s = 30.0
    if args[0] == "--timeout":
        timeout_s = float(args[1])
        args = args[2:]
    agent = Agent(path, time.monotonic() + timeout_s)
    for command in args:
        if command == "sync":
            print(json.dumps({"synced": agent.sync()}), flush=True)
        elif command.startswith("send:"):
            agent.send(json.loads(command[len("send:") :]))
        else:
            agent.send(json.loads(command))
            try:
                answer = agent.reply(agent.deadline)
            except (TimeoutError, socket.timeout):
                raise SystemExit(f"no reply to {command} within {timeout_s} s")
            print(json.dumps(answer), flush=True)
            if "return" not in answer:
                raise SystemExit(f"{command}: {answer}")


if __name__ == "__main__":
    main()
