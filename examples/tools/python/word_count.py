#!/usr/bin/env python3
"""A Pipewright tool in Python with no dependencies: it speaks the NATS text protocol itself.

Run: NATS_URL=nats://127.0.0.1:4222 python3 examples/tools/python/word_count.py
A real tool would use the `nats-py` client; this file shows that the protocol is nothing more than
JSON request-reply on `pw.tools.<name>` with queue group `tool-<name>` (see docs/tools.md), and that
registering in the tool registry is one JetStream publish: the entry, JSON, to `$KV.pw_tools.<name>`
(with nats-py: `await (await js.key_value("pw_tools")).put(NAME, entry)`).
"""
import hashlib
import json
import os
import socket
import sys
import threading
from datetime import datetime, timezone

NAME = "word-count"
DESCRIPTION = {
    "schemaVersion": 1,
    "name": NAME,
    "description": "Counts the words in a text.",
    "input": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    },
    "output": {"type": "object", "properties": {"words": {"type": "integer"}}, "required": ["words"]},
    "version": "1.0.0",
}


def failure(code, message, retryable=False, path=None):
    error = {"code": code, "message": message, "retryable": retryable}
    if path is not None:
        error["path"] = path
    return {"schemaVersion": 1, "ok": False, "error": error}


def answer(body):
    """Builds the reply to one call: validate the request, then the arguments, then do the work."""
    try:
        req = json.loads(body)
    except ValueError as err:
        return failure("invalid_request", f"not JSON: {err}")
    if not isinstance(req, dict) or req.get("schemaVersion") != 1 or req.get("tool") != NAME:
        return failure("invalid_request", "expected a ToolRequest for " + NAME, path="tool")
    args = req.get("arguments")
    if not isinstance(args, dict) or not isinstance(args.get("text"), str):
        return failure("invalid_arguments", "text: expected a string", path="text")
    extra = sorted(set(args) - {"text"})
    if extra:
        return failure("invalid_arguments", f"{extra[0]}: unknown field", path=extra[0])
    return {"schemaVersion": 1, "ok": True, "result": {"words": len(args["text"].split())}}


REGISTRY_SUBJECT = f"$KV.pw_tools.{NAME}".encode()
REGISTRY_INBOX = f"_INBOX.py-{NAME}-{os.getpid()}".encode()


def registration():
    """The tool's registry entry: its description, when it was written, and the digest of its input
    schema (SHA-256 of its canonical JSON: keys sorted, no spaces, as Pipewright's canonicalJson)."""
    canonical = json.dumps(DESCRIPTION["input"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**DESCRIPTION, "registeredAt": at, "inputDigest": hashlib.sha256(canonical.encode()).hexdigest()}


class Connection:
    """One socket, written from the main loop and from the registration's retry timer: one lock."""

    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()
        self.register_tries = 0

    def send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def register(self):
        """Publishes the entry to the registry's stream; the JetStream ack (or a 503: no such bucket
        yet, the planner creates it) comes back on REGISTRY_INBOX."""
        self.register_tries += 1
        data = json.dumps(registration()).encode()
        self.send(b"PUB " + REGISTRY_SUBJECT + b" " + REGISTRY_INBOX + b" " + str(len(data)).encode() + b"\r\n" + data + b"\r\n")

    def registry_answered(self, headers, body):
        """A 503 (no stream for the subject) or an API error: tried again later, with a capped backoff."""
        failed = b" 503" in headers.split(b"\r\n", 1)[0] or b'"error"' in body
        if not failed:
            print(f"{NAME} tool registered", flush=True)
            return
        delay = min(5.0, 0.25 * 2 ** min(self.register_tries, 5))
        if self.register_tries == 1:
            print(f"{NAME}: the tool registry is not there yet (is the planner up?); retrying", file=sys.stderr, flush=True)
        timer = threading.Timer(delay, self.register)
        timer.daemon = True
        timer.start()


def main():
    server = os.environ.get("NATS_URL", "nats://127.0.0.1:4222").split(",")[0].strip()
    host, port = server.split("://")[-1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    reader = sock.makefile("rb")
    reader.readline()  # INFO {...}
    queue = f"tool-{NAME}".encode()
    conn = Connection(sock)
    # no_responders: a publish to a subject no stream captures is answered 503 at once (not a timeout).
    conn.send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"name":"python-word-count"}\r\n')
    conn.send(b"SUB pw.tools." + NAME.encode() + b" " + queue + b" 1\r\n")
    conn.send(b"SUB pw.tools." + NAME.encode() + b".describe " + queue + b" 2\r\n")
    conn.send(b"SUB " + REGISTRY_INBOX + b" 3\r\n")
    conn.send(b"PING\r\n")
    conn.register()
    while True:
        line = reader.readline()
        if not line:
            return
        parts = line.split()
        if not parts:
            continue
        op = parts[0]
        if op == b"PING":
            conn.send(b"PONG\r\n")
        elif op == b"PONG":
            print(f"{NAME} tool ready", flush=True)
        elif op in (b"MSG", b"HMSG"):
            # MSG <subject> <sid> [reply] <size>; HMSG <subject> <sid> [reply] <header size> <total size>
            # Headers (NATS/1.0 + traceparent) come first in HMSG; a tool that traces would read them.
            header_size = int(parts[-2]) if op == b"HMSG" else 0
            total = int(parts[-1])
            reply_to = parts[3] if len(parts) == (6 if op == b"HMSG" else 5) else None
            payload = reader.read(total + 2)[:total]
            body = payload[header_size:]
            if parts[2] == b"3":
                conn.registry_answered(payload[:header_size], body)
                continue
            if reply_to is None:
                continue
            reply = DESCRIPTION if parts[2] == b"2" else answer(body)
            data = json.dumps(reply).encode()
            conn.send(b"PUB " + reply_to + b" " + str(len(data)).encode() + b"\r\n" + data + b"\r\n")
        elif op == b"-ERR":
            print(line.decode().strip(), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
