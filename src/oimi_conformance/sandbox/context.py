"""What one request carries through the sandbox: its id, the active deviations, and what it asked for."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .catalog import ModelSpec
from .keys import KeySpec


@dataclass
class RequestContext:
    request_id: str
    deviations: frozenset[str]
    stream_interval_s: float
    port: int
    # "openai" or "anthropic": the envelope relay errors use on this route.
    route_shape: str = "openai"
    # Which endpoint answered (chat, responses, responses.compact, messages, gemini, embeddings, rerank,
    # images, models.list, models.retrieve, files): deviations hook on it.
    endpoint: str = ""
    path: str = ""
    stream: bool = False
    body: dict[str, Any] = field(default_factory=dict)
    model: ModelSpec | None = None
    key: KeySpec | None = None
    # Drops the TCP connection at once (set by the outermost ASGI layer; None if the server cannot).
    abort: Callable[[], None] | None = None

    def has(self, deviation: str) -> bool:
        return deviation in self.deviations

    def make_id(self, prefix: str, purpose: str = "") -> str:
        """A deterministic id: the same request number and purpose always give the same id.

        The tail is 24 lowercase hex digits so tests can normalise ids by pattern.
        """
        digest = hashlib.sha256(f"{self.request_id}/{purpose}".encode()).hexdigest()[:24]
        return f"{prefix}{digest}"
