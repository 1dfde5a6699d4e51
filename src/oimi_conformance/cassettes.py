"""Cassettes: every exchange of a run, recorded in vcrpy's YAML format, and replayed offline.

Layout: ``cassettes/<target>/<case id>/<model>.yaml``, one cassette per case run, holding its
steps' interactions, so the cassette of a check result is found from its case and model. The
files are written and read with vcrpy's own serializer, so any vcrpy user can load them.

A replayed request is matched on method, path, redacted query and body, and on the value of every
extra header the run sends (``--header``; a secret one as REDACTED), so a cassette recorded with one
``x-portkey-config`` does not answer a run sending another. Bodies are kept byte for
byte (comment lines, CRLF, events split anywhere) and re-read through the same stream readers.
Nothing is written before it is redacted, and a guard re-reads every cassette written and refuses
to keep one that still holds a key given to the run.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from vcr.request import Request as VcrRequest
from vcr.serialize import deserialize, serialize
from vcr.serializers import yamlserializer

from .errors import HarnessError, UsageError
from .exchange import Exchange
from .redact import REDACTED, SECRET_QUERY, secret_forms

RECORD_MODES = ("once", "new_episodes", "all", "none")  # vcrpy's modes, with vcrpy's meanings


class CassetteLeak(HarnessError):
    """A cassette still holds a key given to the run: it was deleted, and the run must fail loudly."""


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in name) or "_"


def cassette_path(root: Path, exchange_id: str) -> Path:
    """``case/model/step`` -> ``<root>/<case>/<model>.yaml``."""
    case, model, _step = exchange_id.split("/", 2)
    return root / _safe(case) / f"{_safe(model if model != '-' else '_')}.yaml"


def match_key(method: str, url: str, body: bytes | None) -> tuple[str, str, str, bytes]:
    """What makes two requests the same for replay: method, path, redacted query, body."""
    parts = urlsplit(url)
    query = sorted((k, REDACTED if k.lower() in SECRET_QUERY else v)
                   for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return method.upper(), parts.path, urlencode(query), body or b""


# -- writing ----------------------------------------------------------------------------------------

def _response_dict(exchange: Exchange) -> dict[str, Any]:
    headers: dict[str, list[str]] = {}
    for name, value in exchange.response_headers.items():
        headers.setdefault(name, []).append(value)
    return {"status": {"code": exchange.status, "message": ""}, "headers": headers,
            "body": {"string": exchange.body}}


def write_cassette(path: Path, exchanges: list[Exchange]) -> None:
    """Write the (already redacted) exchanges of one case run; faulted exchanges are not recorded."""
    kept = [e for e in exchanges if e.status is not None and not e.replayed]
    if not kept:
        return
    requests = [VcrRequest(e.method, e.url, e.request_body or b"", dict(e.request_headers)) for e in kept]
    data = serialize({"requests": requests, "responses": [_response_dict(e) for e in kept]}, yamlserializer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data, encoding="utf-8")


def guard(paths: list[Path], secrets: list[str]) -> None:
    """Re-read what was written; delete any cassette holding a run's key and raise (the key is not named)."""
    leaked = []
    forms = [f for s in secrets if s for f in secret_forms(s)]
    for path in paths:
        data = path.read_bytes()
        if any(form in data for form in forms):
            path.unlink()
            leaked.append(str(path))
    if leaked:
        raise CassetteLeak(f"refused to keep {len(leaked)} cassette(s) that still held a key given to this run "
                           f"(deleted): {', '.join(leaked)}")


# -- reading ----------------------------------------------------------------------------------------

class CassetteLibrary:
    """The cassettes of one target folder, loaded on demand, matched by request."""

    def __init__(self, root: Path, match_headers: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.match_headers = match_headers  # lower-case names of the run's extra headers
        self._loaded: dict[Path, list[tuple[tuple[str, str, str, bytes], dict[str, Any], dict[str, str]]]] = {}

    def exists(self) -> bool:
        return self.root.is_dir() and any(self.root.rglob("*.yaml"))

    def _load(self, path: Path) -> list[tuple[tuple[str, str, str, bytes], dict[str, Any], dict[str, str]]]:
        if path not in self._loaded:
            entries = []
            if path.is_file():
                try:
                    requests, responses, *_ = deserialize(path.read_text(encoding="utf-8"), yamlserializer)
                except (ValueError, KeyError, TypeError) as exc:
                    raise UsageError(f"cannot read cassette {path}: {exc}") from exc
                for request, response in zip(requests, responses, strict=False):
                    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
                    headers = {str(k).lower(): _one(v) for k, v in (request.headers or {}).items()}
                    entries.append((match_key(request.method, request.uri, body), response, headers))
            self._loaded[path] = entries
        return self._loaded[path]

    def find(self, exchange_id: str, method: str, url: str, body: bytes | None,
             headers: dict[str, str] | None = None) -> dict[str, Any] | None:
        key = match_key(method, url, body)
        sent = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in self.match_headers}
        for entry_key, response, recorded in self._load(cassette_path(self.root, exchange_id)):
            if entry_key == key and all(recorded.get(name) == value for name, value in sent.items()):
                return response
        return None


def _one(value: Any) -> str:
    """vcrpy keeps a header as a string or a list of strings."""
    return str(value[-1] if isinstance(value, list) and value else value)


def exchange_from(response: dict[str, Any], exchange: Exchange) -> Exchange:
    """Fill a (redacted) request record with a recorded response."""
    exchange.status = int(response["status"]["code"])
    exchange.response_headers = {k.lower(): (v[-1] if isinstance(v, list) else v)
                                 for k, v in (response.get("headers") or {}).items()}
    body = response.get("body", {}).get("string", b"")
    exchange.body = body if isinstance(body, bytes) else body.encode("utf-8")
    exchange.replayed = True
    return exchange


# -- no network during replay -------------------------------------------------------------------------

@contextlib.contextmanager
def network_blocked() -> Iterator[None]:
    """Refuse every outgoing connection while replaying: a replay that reaches the network is a bug."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("network access is blocked during replay")

    saved = socket.socket.connect, socket.socket.connect_ex, socket.create_connection
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved  # type: ignore[method-assign]
