"""A hostile gateway of the project's own, on loopback only: it answers the harness the ways a broken,
misconfigured or malicious gateway would, so the tests (and ``benchmarks/bench_memory.py``) can show
that the harness never leaks a key, never crashes and stays bounded in memory and time.

It speaks raw HTTP/1.1 over asyncio (one answer per connection), so it can send what no framework
would: a header whose name carries the key, a stream that never ends, a 16 MiB body.

``python -m oimi_conformance.testing.hostile --port 0 --mode echo-key`` serves in the foreground and
prints its base URL on the first line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LOOPBACK = "127.0.0.1"


def echo_forms(key: str) -> dict[str, str]:
    """Every encoding the hostile gateway echoes a key in (and the harness must find)."""
    raw = key.encode()
    return {
        "raw": key,
        "json-escaped": "".join(f"\\u{ord(c):04x}" for c in key),  # as written in a JSON document
        "base64-bearer": base64.b64encode(b"Bearer " + raw).decode(),
        "base64-basic": base64.b64encode(b"user:" + raw).decode(),
        "url-encoded": "".join(f"%{b:02X}" for b in raw),
        "hex": raw.hex(),
    }


@dataclass
class HostileConfig:
    """What the hostile gateway does. Every field off gives a plain (valid) chat gateway.

    mode: ``echo-key`` (the presented key in every encoding of ``echo_forms``, in bodies, in header values
          and in a header name), ``deep`` (answers nested ``depth`` levels), ``big`` (chat answers of
          ``body_bytes``), ``endless`` (streams that never end), ``retry-after`` (429 with
          ``Retry-After: 100000``), ``raw-text`` (non-JSON bodies with terminal escape sequences), or ``plain``.
    models: the ids ``GET /v1/models`` lists; ``model_count`` adds ``m-00000``... clones.
    """

    mode: str = "plain"
    models: list[str] = field(default_factory=lambda: ["hostile-chat"])
    model_count: int = 0
    depth: int = 20000
    body_bytes: int = 16 * 1024 * 1024
    requests: list[str] = field(default_factory=list)  # "METHOD path" of every request seen


ESCAPES = "\x1b]0;pwned-title\x07\x1b[2J\x1b[H\x1b]8;;http://evil.invalid\x1b\\click\x1b]8;;\x1b\\"


def _presented_key(headers: dict[str, str], target: str) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:]
    for name in ("x-api-key", "x-goog-api-key"):
        if headers.get(name):
            return headers[name]
    return dict(parse_qsl(urlsplit(target).query)).get("key", "")


class _Gateway:
    def __init__(self, config: HostileConfig) -> None:
        self.config = config

    def models_body(self) -> bytes:
        ids = list(self.config.models) + [f"m-{n:05d}" for n in range(self.config.model_count)]
        if self.config.mode == "deep":
            return b'{"object":"list","data":[{"id":"hostile-chat","x":' + _deep(self.config.depth) + b"}]}"
        data = ",".join(json.dumps({"id": i, "object": "model", "owned_by": "hostile"}) for i in ids)
        return ('{"object":"list","data":[' + data + "]}").encode("utf-8", "surrogatepass")

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, list[tuple[str, str]], bytes | Iterator[bytes]]:
        mode = self.config.mode
        path = urlsplit(target).path
        key = _presented_key(headers, target)
        json_type = [("content-type", "application/json")]
        if mode == "echo-key" and key:
            forms = echo_forms(key)
            echo = "".join(f'"{name}":"{value}",' for name, value in forms.items())
            text = ('{"error":{"message":"bad key ' + forms["json-escaped"] + '",' + echo
                    + '"type":"invalid_request_error","code":"' + forms["json-escaped"] + '"}}')
            extra = [(f"x-echo-{forms['raw']}", "1"), ("x-echo-b64", forms["base64-bearer"]),
                     ("x-echo-hex", forms["hex"]), ("x-echo-url", forms["url-encoded"])]
            if path.endswith("/models") and method == "GET":
                listing = self.models_body()[:-2] + b',{"id":"echo","note":"' + forms["json-escaped"].encode() + b'"}]}'
                return 200, json_type + extra, listing
            if b'"stream":true' in body.replace(b" ", b""):
                events = "".join(f'data: {{"id":"x","object":"chat.completion.chunk","note":"{v}"}}\n\n'
                                 for v in forms.values())
                return 200, [("content-type", "text/event-stream"), *extra], events.encode()
            return 401, json_type + extra, text.encode()
        if path.endswith("/models") and method == "GET":
            return 200, json_type, self.models_body()
        if mode == "retry-after":
            return 429, [*json_type, ("retry-after", "100000")], b'{"error":{"message":"slow down","type":"rate"}}'
        if mode == "raw-text":
            return 500, [("content-type", "text/plain")], f"upstream broke {ESCAPES}\nline two\r\n".encode()
        if mode == "deep":
            return 200, json_type, b'{"id":"c","object":"chat.completion","choices":' + _deep(self.config.depth) + b"}"
        if mode == "endless":
            return 200, [("content-type", "text/event-stream")], _endless()
        if mode == "big":
            filler = b"a" * max(0, self.config.body_bytes - 200)
            return 200, json_type, (b'{"id":"c","object":"chat.completion","created":1,"model":"hostile-chat",'
                                    b'"choices":[{"index":0,"message":{"role":"assistant","content":"' + filler
                                    + b'"},"finish_reason":"stop"}],'
                                    b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')
        return 200, json_type, (b'{"id":"c","object":"chat.completion","created":1,"model":"hostile-chat","choices":'
                                b'[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
                                b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}')


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _endless() -> Iterator[bytes]:
    n = 0
    while True:
        n += 1
        yield f'data: {{"id":"x","object":"chat.completion.chunk","n":{n}}}\n\n'.encode()


async def _handle(gateway: _Gateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        gateway.config.requests.append(f"{method} {urlsplit(target).path}")
        status, out_headers, payload = gateway.answer(method, target, headers, body)
        streaming = not isinstance(payload, bytes)
        head_lines = [f"HTTP/1.1 {status} X", "connection: close",
                      *(f"{k}: {v}" for k, v in out_headers)]
        if not streaming:
            head_lines.append(f"content-length: {len(payload)}")  # type: ignore[arg-type]
        writer.write(("\r\n".join(head_lines) + "\r\n\r\n").encode("latin-1", "replace"))
        if isinstance(payload, bytes):
            writer.write(payload)
            await writer.drain()
        else:
            for chunk in payload:  # until the client hangs up
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.05)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


class RunningHostile:
    """The hostile gateway in a daemon thread, on a free loopback port."""

    def __init__(self, config: HostileConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.server: Any = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True, name="oimi-hostile")
        self.thread.start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        gateway = _Gateway(self.config)
        self.server = self.loop.run_until_complete(asyncio.start_server(
            lambda r, w: _handle(gateway, r, w), sock=self.sock, limit=1 << 20))
        ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def __enter__(self) -> RunningHostile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_hostile(config: HostileConfig | None = None) -> RunningHostile:
    return RunningHostile(config or HostileConfig())


def main() -> None:  # pragma: no cover - used by benchmarks/bench_memory.py in a separate process
    parser = argparse.ArgumentParser(description="a hostile gateway on loopback, for tests and benchmarks")
    parser.add_argument("--mode", default="plain")
    parser.add_argument("--body-bytes", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--model-count", type=int, default=0)
    args = parser.parse_args()
    running = start_hostile(HostileConfig(mode=args.mode, body_bytes=args.body_bytes, model_count=args.model_count))
    print(running.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
