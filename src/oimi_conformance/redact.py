"""Keys never leave the harness: every header, URL, body and message is redacted before it is
stored, printed or written. A Redactor knows the secrets of one run."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "proxy-authorization", "api-key"})
DROPPED_HEADERS = frozenset({"cookie", "set-cookie"})
SECRET_QUERY = frozenset({"key", "api_key", "api-key"})


def secret_forms(secret: str) -> list[bytes]:
    """The shapes a key takes when a gateway echoes it: as is, URL-encoded, JSON-escaped, base64."""
    raw = secret.encode()
    forms = {raw, quote(secret, safe="").encode(), secret.replace("/", "\\/").encode(),
             base64.b64encode(raw).rstrip(b"=")}
    return [f for f in forms if len(f) >= 4]


class Redactor:
    def __init__(self, secrets: Iterable[str] = (), secret_headers: Iterable[str] = ()) -> None:
        # --secret-header names: redacted by name like the credential headers, whatever their value
        self.secret_headers = SECRET_HEADERS | {h.lower() for h in secret_headers}
        # longest first, so a key that contains another is replaced whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self.forms = sorted({f for s in self.secrets for f in secret_forms(s)}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for form in self.forms:
            secret = form.decode()
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def data(self, value: bytes) -> bytes:
        for form in self.forms:
            if form in value:
                value = value.replace(form, REDACTED.encode())
        return value

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
            out[lower] = self.text(value)
        return out

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        query = [(k, REDACTED if k.lower() in SECRET_QUERY else self.text(v)) for k, v in
                 parse_qsl(parts.query, keep_blank_values=True)]
        return self.text(urlunsplit(parts._replace(query=urlencode(query, safe="=:,"))))

    def leaks(self, blob: str | bytes) -> list[str]:
        """Which of this run's secrets appear in ``blob`` (named by position, never by value)."""
        raw = blob.encode("utf-8", "replace") if isinstance(blob, str) else blob
        return [f"key #{n + 1}" for n, s in enumerate(self.secrets) if any(f in raw for f in secret_forms(s))]

