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
import hashlib
import json
import re
import socket
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from vcr.request import Request as VcrRequest
from vcr.serializers import compat, yamlserializer

from . import __version__
from .cassette_yaml import CassetteError, load_interactions, load_yaml
from .exceptions import HarnessError, UsageError
from .exchange import Exchange
from .redact import REDACTED, SECRET_QUERY, Redactor

if TYPE_CHECKING:
    from .engine import RunConfig
    from .plan import CaseRun

RECORD_MODES = ("once", "new_episodes", "all", "none")  # vcrpy's modes, with vcrpy's meanings


class CassetteLeak(HarnessError):
    """A cassette still holds a key given to the run: it was deleted, and the run must fail loudly."""


_PLAIN = re.compile(r"[A-Za-z0-9@][A-Za-z0-9._@-]{0,99}")


def _safe(name: str) -> str:
    return "".join(c if (c.isalnum() and c.isascii()) or c in "-_.@" else "_" for c in name) or "_"


def _stem(model: str | None) -> str:
    """A file name for a model id: the id itself when it is plain and short, else a readable prefix and
    a hash of the whole id (safe on every file system, at most ~80 characters, never two ids on one file)."""
    if model is None:
        return "_"
    if _PLAIN.fullmatch(model) and model not in ("-", "_"):
        return model
    digest = hashlib.sha256(model.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{_safe(model)[:60].lstrip('.')}~{digest}"


def split_exchange_id(exchange_id: str) -> tuple[str, str | None]:
    """``case/model/step`` -> (case, model); the model may itself hold ``/``; ``-`` is no model."""
    head = exchange_id.rsplit("/", 1)[0]
    case, _, model = head.partition("/")
    return case, None if model == "-" else model


def cassette_path(root: Path, exchange_id: str) -> Path:
    """``case/model/step`` -> ``<root>/<case>/<model>.yaml``."""
    case, model = split_exchange_id(exchange_id)
    return root / _stem(case) / f"{_stem(model)}.yaml"


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


def write_cassette(path: Path, exchanges: list[Exchange], model: str | None = None) -> None:
    """Write the (already redacted) exchanges of one case run; faulted exchanges are not recorded.
    The model id is kept whole in the first line, a comment (the file name may be shortened)."""
    kept = [e for e in exchanges if e.status is not None and not e.replayed]
    if not kept:
        return
    requests = [VcrRequest(e.method, e.url, e.request_body or b"", dict(e.request_headers)) for e in kept]
    data = {"version": 1, "interactions": [
        {"request": compat.convert_to_unicode(r._to_dict()), "response": compat.convert_to_unicode(_response_dict(e))}
        for r, e in zip(requests, kept, strict=True)]}
    text = yamlserializer.serialize(data)
    if model is not None:  # a comment, so that any vcrpy reads the file as before; JSON-escaped, one line
        text = f"# model: {json.dumps(model)}\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="backslashreplace")


def guard(paths: list[Path], secrets: list[str]) -> None:
    """Re-read what was written; delete any cassette holding a run's key and raise (the key is not named).
    A key is looked for in the file's bytes in every encoding, and again in every string YAML decodes
    (escapes, folded lines, ``!!binary``)."""
    redactor = Redactor(secrets)
    leaked = []
    for path in paths:
        found = redactor.leaks(path.read_bytes())
        if not found:
            try:
                found = redactor.leaks_in(load_yaml(path) if path.suffix == ".yaml" else
                                          json.loads(path.read_text(encoding="utf-8")))
            except (CassetteError, ValueError):
                found = []
        if found:
            path.unlink()
            leaked.append(str(path))
    if leaked:
        raise CassetteLeak(f"refused to keep {len(leaked)} cassette(s) that still held a key given to this run "
                           f"(deleted): {', '.join(leaked)}")


def record_runs(config: RunConfig, runs: list[CaseRun], redactor: Redactor) -> list[Path]:
    """Record every case run that reached the gateway (one cassette per case run and model) and the
    recording's ``_run.json``, then let the guard re-read what was written."""
    root = Path(config.cassette_dir or "cassettes")
    if config.record_mode == "all" and root.is_dir():
        for stale in root.rglob("*.yaml"):  # "all" re-records the target: no cassette of a removed case stays
            stale.unlink()
    written, failed = [], []
    for run in runs:
        if not run.exchanges or all(e.replayed for e in run.exchanges.values()):
            continue
        path = cassette_path(root, f"{run.case.id}/{'-' if run.model is None else run.model}/-")
        try:
            write_cassette(path, list(run.exchanges.values()), run.model)
        except OSError as exc:  # one cassette that cannot be written must not stop the others, nor the guard
            failed.append(f"{path}: {exc.strerror or exc}")
        if path.is_file():
            written.append(path)
    meta: dict[str, Any] = {"target": config.target, "base_url": redactor.url(config.base_url),
            "profile": config.profile.name, "models": config.models,
            "expectations": ",".join(Path(p).stem for p in config.expectations.source.split(","))
            if config.expectations.source else None,
            "key_roles": sorted(config.keys), "harness_version": __version__}
    if config.headers:  # replay sends them again, so cassette matching sees the same headers
        meta.update(headers=config.headers.redacted(), secret_headers=sorted(config.headers.secret_names))
    root.mkdir(parents=True, exist_ok=True)
    (root / "_run.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    guard([*written, root / "_run.json"], redactor.secrets)
    if failed:
        raise UsageError(f"could not write {len(failed)} cassette(s): {'; '.join(failed[:3])}")
    return written


# -- reading ----------------------------------------------------------------------------------------

Entry = tuple[tuple[str, str, str, bytes], dict[str, Any], dict[str, str]]  # match key, response, request headers


class CassetteLibrary:
    """The cassettes of one target folder, loaded on demand, matched by request. Only those loaded last,
    up to KEEP_BYTES of bodies, are kept, so a replay's memory does not grow with the number of cassettes."""

    KEEP_BYTES = 64 * 1024 * 1024

    def __init__(self, root: Path, match_headers: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.match_headers = match_headers  # lower-case names of the run's extra headers (--header)
        self._loaded: OrderedDict[Path, list[Entry]] = OrderedDict()
        self._sizes: dict[Path, int] = {}
        self._total = 0

    def exists(self) -> bool:
        return self.root.is_dir() and any(self.root.rglob("*.yaml"))

    def check_all(self) -> int:
        """Read every cassette once, before anything is judged: a broken one stops the run in one line."""
        paths = sorted(self.root.rglob("*.yaml")) if self.root.is_dir() else []
        for path in paths:
            self._load(path)
        return len(paths)

    def _load(self, path: Path) -> list[Entry]:
        if path in self._loaded:
            self._loaded.move_to_end(path)
            return self._loaded[path]
        entries = []
        if path.is_file():
            for request, response in load_interactions(path):
                headers = {str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()}
                entries.append((match_key(request["method"], request["uri"], request["body"]), response, headers))
        self._loaded[path] = entries
        self._sizes[path] = sum(len(e[1]["body"]) + len(e[0][3]) for e in entries)
        self._total += self._sizes[path]
        while len(self._loaded) > 1 and self._total > self.KEEP_BYTES:
            evicted, _ = self._loaded.popitem(last=False)
            self._total -= self._sizes.pop(evicted)
        return entries

    def find(self, exchange_id: str, method: str, url: str, body: bytes | None,
             headers: dict[str, str] | None = None) -> dict[str, Any] | None:
        key = match_key(method, url, body)
        sent = {k.lower(): v for k, v in (headers or {}).items() if k.lower() in self.match_headers}
        for entry_key, response, recorded in self._load(cassette_path(self.root, exchange_id)):
            if entry_key == key and all(recorded.get(name) == value for name, value in sent.items()):
                return response
        return None


def exchange_from(response: dict[str, Any], exchange: Exchange) -> Exchange:
    """Fill a (redacted) request record with a recorded response (as ``load_interactions`` gives it)."""
    exchange.status = response["status"]
    exchange.response_headers = {k.lower(): v for k, v in response["headers"].items()}
    exchange.body = response["body"]
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
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved  # type: ignore[method-assign]
