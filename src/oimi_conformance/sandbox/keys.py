"""The sandbox's API keys, as data, and how a request presents one.

Where a key is read from follows new-api's ``middleware/auth.go`` (see gateway-facts.md):
``Authorization: Bearer`` everywhere; ``x-api-key`` only on paths containing ``/v1/messages`` or
``/v1/models``; ``x-goog-api-key`` and ``?key=`` only on ``/v1/models``, ``/v1/models/...`` and
``/v1beta/models...``. Later sources override earlier ones, so the precedence is
x-goog-api-key > ?key= > x-api-key > Authorization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class KeySpec:
    """One key. ``state`` decides what relay calls get; ``allowed_models`` None means every model."""

    key: str
    state: str  # "ok" | "noquota" | "ratelimited"
    allowed_models: frozenset[str] | None = None
    description: str = ""

    def allows(self, model_id: str) -> bool:
        return self.allowed_models is None or model_id in self.allowed_models


KEYS: tuple[KeySpec, ...] = (
    KeySpec("sk-sandbox-valid", "ok", description="everything works"),
    KeySpec("sk-sandbox-noquota", "noquota", description="403 insufficient_user_quota on every relay call"),
    KeySpec("sk-sandbox-ratelimited", "ratelimited", description="429 with Retry-After: 1 on every relay call"),
    KeySpec(
        "sk-sandbox-restricted",
        "ok",
        allowed_models=frozenset({"sandbox-image"}),
        description="only sandbox-image; every text model answers 403 access_denied",
    ),
)

VALID_KEY = "sk-sandbox-valid"


def _normalise(key: str) -> str:
    # new-api strips the "sk-" prefix before looking a key up, so "sandbox-valid" works too.
    return key[3:] if key.startswith("sk-") else key


_BY_KEY: dict[str, KeySpec] = {_normalise(k.key): k for k in KEYS}


def lookup(key: str | None) -> KeySpec | None:
    """The key's spec, or None when it is missing, empty or unknown."""
    if not key:
        return None
    return _BY_KEY.get(_normalise(key))


def _strip_bearer(value: str) -> str:
    for prefix in ("Bearer ", "bearer "):
        if value.startswith(prefix):
            return value[len(prefix) :].strip()
    return value.strip()


def _goog_paths(path: str) -> bool:
    return path == "/v1/models" or path.startswith(("/v1/models/", "/v1beta/models"))


def presented_key(
    path: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    *,
    honour_goog_header: bool = True,
    honour_query_key: bool = True,
    x_api_key_everywhere: bool = False,
    bearer_first: bool = False,
) -> str | None:
    """The key a request presents, by new-api's rules; None when it presents none.

    The two ``honour_*`` flags exist for the ``auth.goog-key-ignored`` and ``gemini.query-key-ignored``
    deviations, ``x_api_key_everywhere`` for ``auth.x-api-key-everywhere``; the faithful sandbox leaves
    them at their defaults.
    """
    key = _strip_bearer(headers.get("authorization", "")) or None
    if x_api_key_everywhere or "/v1/messages" in path or "/v1/models" in path:
        key = headers.get("x-api-key") or key
    if _goog_paths(path):
        if honour_query_key:
            key = query.get("key") or key
        if honour_goog_header:
            key = headers.get("x-goog-api-key") or key
    if bearer_first:  # auth.bearer-wins: Authorization overrides every other credential
        key = _strip_bearer(headers.get("authorization", "")) or key
    return key
