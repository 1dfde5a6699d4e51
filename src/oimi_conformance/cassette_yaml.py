"""Reading cassettes that may have been tampered with: they are shared in repositories and replayed by CI.

The harness loads them with a YAML loader of its own, whatever vcrpy's version: plain YAML types
only (strings, numbers, lists, mappings, ``!!binary``), never a Python object, and within limits
that a hostile file cannot exceed: its size, how many aliases it uses and how much they expand
(a "billion laughs" file is refused before anything is built), how deep it nests. Then the shape
vcrpy writes is checked, so a broken file is one line naming it, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .exceptions import UsageError

try:  # libyaml when present (fast); the pure-Python loader otherwise: both build plain types only
    from yaml import CSafeLoader as _Base
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Base  # type: ignore[assignment]

MAX_CASSETTE_BYTES = 48 * 1024 * 1024  # a cassette holds one case run: a few answers of at most 16 MiB
MAX_ALIASES = 1000
MAX_NODES = 1_000_000  # nodes once every alias is expanded
MAX_DEPTH = 64


class CassetteError(UsageError):
    """A cassette that cannot be trusted or read: one line naming it, exit 2."""


class _Loader(_Base):
    """SafeLoader with no additions: a ``!!python/...`` tag is an error, never a constructor call."""


def _check_events(data: bytes, where: Path) -> None:
    """Walk the YAML events (no objects built) and refuse alias bombs and deep nesting."""
    anchors: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = []  # (anchor, nodes so far) of each open collection
    aliases = total = 0

    def add(weight: int) -> None:
        nonlocal total
        total += weight
        if stack:
            anchor, nodes = stack[-1]
            stack[-1] = (anchor, nodes + weight)
        if total > MAX_NODES:
            raise CassetteError(f"cannot read cassette {where}: it expands to more than {MAX_NODES} YAML nodes "
                                "(an alias bomb?); refused")

    try:
        for event in yaml.parse(data, Loader=_Base):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise CassetteError(f"cannot read cassette {where}: more than {MAX_ALIASES} YAML aliases; refused")
                if event.anchor not in anchors:
                    raise CassetteError(f"cannot read cassette {where}: unknown YAML alias *{event.anchor}")
                add(anchors[event.anchor])
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor:
                    anchors[event.anchor] = 1
                add(1)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                stack.append((event.anchor, 1))
                if len(stack) > MAX_DEPTH:
                    raise CassetteError(f"cannot read cassette {where}: nested deeper than {MAX_DEPTH} levels; "
                                        "refused")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, nodes = stack.pop()
                if anchor:
                    anchors[anchor] = nodes
                add(nodes)
    except yaml.YAMLError as exc:
        raise CassetteError(f"cannot read cassette {where}: not valid YAML: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def load_yaml(path: Path) -> Any:
    """The plain data of a YAML file, within the limits above."""
    try:
        size = path.stat().st_size
        if size > MAX_CASSETTE_BYTES:
            raise CassetteError(f"cannot read cassette {path}: {size} bytes, over the limit of "
                                f"{MAX_CASSETTE_BYTES} bytes; refused")
        data = path.read_bytes()
    except OSError as exc:
        raise CassetteError(f"cannot read cassette {path}: {exc.strerror or exc}") from None
    _check_events(data, path)
    try:
        return yaml.load(data, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise CassetteError(f"cannot read cassette {path}: {_one_line(exc)}") from None
    except RecursionError:
        raise CassetteError(f"cannot read cassette {path}: nested too deep; refused") from None


def _text(value: Any, what: str, where: Path) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    raise CassetteError(f"cannot read cassette {where}: {what} must be a string, not {type(value).__name__}")


def _headers(value: Any, what: str, where: Path) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CassetteError(f"cannot read cassette {where}: {what} must be a mapping")
    out = {}
    for name, values in value.items():
        last = values[-1] if isinstance(values, list) and values else values
        if not isinstance(name, str) or not isinstance(last, (str, int, float)):
            raise CassetteError(f"cannot read cassette {where}: {what} {str(name)[:40]!r} is not a string")
        out[name] = str(last)
    return out


def load_interactions(path: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(request, response) pairs of a vcrpy cassette, checked: request = method, uri, body (bytes),
    headers; response = status (int), headers (name -> last value), body (bytes)."""
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise CassetteError(f"cannot read cassette {path}: not a vcrpy cassette (no `interactions` list)")
    out = []
    for n, item in enumerate(data["interactions"]):
        where = f"interaction #{n + 1}"
        request = item.get("request") if isinstance(item, dict) else None
        response = item.get("response") if isinstance(item, dict) else None
        if not isinstance(request, dict) or not isinstance(response, dict):
            raise CassetteError(f"cannot read cassette {path}: {where} lacks a request or a response")
        method, uri = request.get("method"), request.get("uri")
        if not isinstance(method, str) or not isinstance(uri, str):
            raise CassetteError(f"cannot read cassette {path}: {where}: the request needs a method and a uri")
        status = response.get("status")
        code = status.get("code") if isinstance(status, dict) else None
        try:
            code = int(code)  # type: ignore[arg-type]
            if not 100 <= code <= 999:
                raise ValueError
        except (TypeError, ValueError):
            raise CassetteError(f"cannot read cassette {path}: {where}: the status code must be a number from "
                                "100 to 999") from None
        body = response.get("body")
        if body is not None and not isinstance(body, dict):
            raise CassetteError(f"cannot read cassette {path}: {where}: the response body must be a mapping "
                                "with `string`")
        out.append((
            {"method": method, "uri": uri, "body": _text(request.get("body"), f"{where}: the request body", path),
             "headers": _headers(request.get("headers"), f"{where}: request header", path)},
            {"status": code, "headers": _headers(response.get("headers"), f"{where}: response header", path),
             "body": _text((body or {}).get("string"), f"{where}: the response body", path)},
        ))
    return out
