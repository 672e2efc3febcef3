#!/usr/bin/env python3
"""A Pipewright tool in Python with no dependencies: it speaks the NATS text protocol itself.

Run: NATS_URL=nats://127.0.0.1:4222 python3 examples/tools/python/word_count.py
A real tool would use the `nats-py` client; this file shows that the protocol is nothing more than
JSON request-reply on `pw.tools.<name>` with queue group `tool-<name>` (see docs/tools.md).
"""
import json
import os
import socket
import sys

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


def main():
    server = os.environ.get("NATS_URL", "nats://127.0.0.1:4222").split(",")[0].strip()
    host, port = server.split("://")[-1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    reader = sock.makefile("rb")
    reader.readline()  # INFO {...}
    queue = f"tool-{NAME}".encode()
    sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"name":"python-word-count"}\r\n')
    sock.sendall(b"SUB pw.tools." + NAME.encode() + b" " + queue + b" 1\r\n")
    sock.sendall(b"SUB pw.tools." + NAME.encode() + b".describe " + queue + b" 2\r\n")
    sock.sendall(b"PING\r\n")
    while True:
        line = reader.readline()
        if not line:
            return
        parts = line.split()
        if not parts:
            continue
        op = parts[0]
        if op == b"PING":
            sock.sendall(b"PONG\r\n")
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
            if reply_to is None:
                continue
            reply = DESCRIPTION if parts[2] == b"2" else answer(body)
            data = json.dumps(reply).encode()
            sock.sendall(b"PUB " + reply_to + b" " + str(len(data)).encode() + b"\r\n" + data + b"\r\n")
        elif op == b"-ERR":
            print(line.decode().strip(), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
