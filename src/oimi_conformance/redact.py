"""Keys never leave the harness: every header, URL, body and message is redacted before it is
stored, printed or written. A Redactor knows the secrets of one run.

A gateway may echo a key in any encoding, so a key is looked for in every shape it can take
(see ``secret_forms``), and each shape also escaped character by character the ways JSON
(``\\u0073``, ``\\/``) and URLs (``%73``) escape text. Whatever the harness decodes later (parsed
JSON, stream events, violation messages) is redacted again after decoding (``value``)."""

from __future__ import annotations

import base64
import codecs
import dataclasses
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .safe_text import map_strings

REDACTED = "REDACTED"
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "proxy-authorization", "api-key"})
DROPPED_HEADERS = frozenset({"cookie", "set-cookie"})
SECRET_QUERY = frozenset({"key", "api_key", "api-key"})
# the sign that a text holds escaped characters: without one, the literal forms suffice (fast path)
_ESCAPE_MARKS = ("\\u", "%", "\\/", "\\x")
_PERCENT = re.compile(rb"%([0-9a-fA-F]{2})")


def _b64_inner(raw: bytes) -> list[bytes]:
    """The part of base64(prefix + raw + suffix) that depends only on ``raw``, for the three
    alignments a prefix can give (so ``base64("Bearer " + key)`` is caught as well as ``base64(key)``)."""
    out = []
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * pad + raw + b"\0\0\0")
            start, end = -(-8 * pad // 6), (8 * pad + 8 * len(raw)) // 6
            out.append(encoded[start:end])
    return out


def secret_forms(secret: str) -> list[bytes]:
    """The literal shapes a key takes when a gateway echoes it: as is, URL-encoded (all or partly),
    JSON-escaped, base64 at any alignment (standard and URL-safe), hex in either case."""
    raw = secret.encode()
    forms = {raw, quote(secret, safe="").encode(), secret.replace("/", "\\/").encode(),
             "".join(f"%{b:02X}" for b in raw).encode(), "".join(f"%{b:02x}" for b in raw).encode()}
    if len(raw) >= 8:  # the base64 of a shorter one is too short to tell from any base64 (an embedding)
        forms |= {raw.hex().encode(), raw.hex().upper().encode(), *_b64_inner(raw)}
    return [f for f in forms if len(f) >= 4]


def _hex_class(value: int, width: int) -> str:
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _char_pattern(char: str) -> str:
    """One character of a key, literal or escaped the ways JSON, URLs and Python reprs escape it."""
    code = ord(char)
    alts = [re.escape(char), r"\\u" + _hex_class(code, 4)]
    if code < 256:
        alts += ["%" + _hex_class(code, 2), r"\\x" + _hex_class(code, 2)]
    if char == "/":
        alts.append(r"\\/")
    return "(?:" + "|".join(alts) + ")"


def _escaped_pattern(forms: Iterable[bytes]) -> str:
    return "|".join("".join(_char_pattern(c) for c in form.decode("ascii", "replace"))
                    for form in sorted(set(forms), key=len, reverse=True))


def _unescaped(value: bytes) -> bytes:
    """``value`` with JSON, URL and Python escapes decoded (loosely): only to see whether an escaped
    key may be inside, so that the slow character-by-character search runs only when one may be."""
    value = value.replace(b"\\/", b"/")
    if b"%" in value:
        value = _PERCENT.sub(lambda m: bytes.fromhex(m[1].decode()), value)
    if b"\\" in value:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = codecs.decode(value, "unicode_escape", "ignore").encode("utf-8", "surrogatepass")
    return value


class Redactor:
    def __init__(self, secrets: Iterable[str] = (), secret_headers: Iterable[str] = ()) -> None:
        # --secret-header names: redacted by name like the credential headers, whatever their value
        self.secret_headers = SECRET_HEADERS | {h.lower() for h in secret_headers}
        # longest first, so a key that contains another is replaced whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.forms = sorted({f for s in self.secrets for f in secret_forms(s)}, key=len, reverse=True)
        self._text_forms = [f.decode("utf-8", "replace") for f in self.forms]
        per_secret = [_escaped_pattern(secret_forms(s)) for s in self.secrets]
        self._escaped = re.compile("|".join(per_secret)) if per_secret else None
        self._escaped_bytes = re.compile("|".join(per_secret).encode()) if per_secret else None
        self._per_secret = [(re.compile(p.encode()), secret_forms(s)) for p, s in zip(per_secret, self.secrets,
                                                                                       strict=True)]

    def text(self, value: str) -> str:
        if not self.secrets:
            return value
        for form in self._text_forms:
            if form in value:
                value = value.replace(form, REDACTED)
        if self._escaped is not None and any(mark in value for mark in _ESCAPE_MARKS) \
                and self._may_hide(value.encode("utf-8", "surrogatepass")):
            value = self._escaped.sub(REDACTED, value)
        return value

    def data(self, value: bytes) -> bytes:
        if not self.secrets:
            return value
        for form in self.forms:
            if form in value:
                value = value.replace(form, REDACTED.encode())
        if self._escaped_bytes is not None and any(mark.encode() in value for mark in _ESCAPE_MARKS) \
                and self._may_hide(value):
            value = self._escaped_bytes.sub(REDACTED.encode(), value)
        return value

    def _may_hide(self, value: bytes) -> bool:
        decoded = _unescaped(value)
        return any(form in decoded for form in self.forms)

    def value(self, obj: Any) -> Any:
        """Any decoded structure (parsed JSON, violations, report rows): every string in it, keys too."""
        if not self.secrets:
            return obj
        return map_strings(obj, self.text, self.data)

    def event(self, event: Any) -> Any:
        """A stream event parsed from raw bytes (an SSE event or a JSON-array element), redacted."""
        if not self.secrets or not dataclasses.is_dataclass(event) or isinstance(event, type):
            return event
        changes: dict[str, Any] = {}
        for name in ("data", "event", "id", "raw"):
            current = getattr(event, name, None)
            if isinstance(current, str):
                redacted = self.text(current)
                if redacted != current:
                    changes[name] = redacted
        if hasattr(event, "value") and (changes.get("raw") is not None or self.leaks(getattr(event, "raw", ""))):
            changes["value"] = self.value(event.value)
        return dataclasses.replace(event, **changes) if changes else event

    def headers(self, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
        items = headers.items() if isinstance(headers, Mapping) else headers
        out: dict[str, str] = {}
        for name, value in items:
            lower = name.lower()
            if lower in DROPPED_HEADERS:
                continue
            if lower in self.secret_headers:
                # the scheme stays (Bearer REDACTED): authorization headers and --secret-header ones
                keeps_scheme = lower in ("authorization", "proxy-authorization") or lower not in SECRET_HEADERS
                scheme = value.split(" ", 1)[0] if keeps_scheme and " " in value else ""
                value = f"{scheme} {REDACTED}".strip() if value.strip() not in ("", scheme) else value
            out[self.text(lower)] = self.text(value)  # a header *name* may carry the key too
        return out

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        query = [(k, REDACTED if k.lower() in SECRET_QUERY else self.text(v)) for k, v in
                 parse_qsl(parts.query, keep_blank_values=True)]
        return self.text(urlunsplit(parts._replace(query=urlencode(query, safe="=:,"))))

    def leaks(self, blob: str | bytes) -> list[str]:
        """Which of this run's secrets appear in ``blob`` (named by position, never by value)."""
        raw = blob.encode("utf-8", "surrogatepass") if isinstance(blob, str) else blob
        escaped = any(mark.encode() in raw for mark in _ESCAPE_MARKS) and self._may_hide(raw)
        return [f"key #{n + 1}" for n, (pattern, forms) in enumerate(self._per_secret)
                if any(f in raw for f in forms) or (escaped and pattern.search(raw))]

    def leaks_in(self, obj: Any) -> list[str]:
        """``leaks`` over every string (and key) of a decoded structure."""
        found: set[str] = set()
        stack = [obj]
        while stack:
            item = stack.pop()
            if isinstance(item, (str, bytes)):
                found.update(self.leaks(item))
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
        return sorted(found)
