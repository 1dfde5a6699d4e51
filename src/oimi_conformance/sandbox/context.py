"""What one request carries through the sandbox: its id, the active deviations, and what it asked for."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import deviations as _deviations
from .catalog import ModelSpec, build_catalog, compact_aliases
from .keys import KeySpec
from .modes import deviations_of


class SandboxState:
    """What one running sandbox keeps between requests: catalogue, active deviations, counters."""

    def __init__(
        self,
        *,
        deviations: Iterable[str] = (),
        mode: str = "reference",
        models: Iterable[ModelSpec] | None = None,
        extra_models: int = 0,
        latency_s: float = 0.0,
        stream_interval_s: float = 0.005,
        first_event_delay_s: float = 25.0,
    ) -> None:
        catalog = build_catalog(models, extra_models)
        if "responses.compact-suffix" in deviations_of(mode) | frozenset(deviations):
            catalog += compact_aliases(catalog)
        self.catalog: dict[str, ModelSpec] = {m.id: m for m in catalog}
        self.mode = mode
        # what the mode does, plus what was switched on: every behaviour is a named deviation
        self.deviations: frozenset[str] = deviations_of(mode) | _deviations.validate(deviations)
        self.latency_s = latency_s
        self.stream_interval_s = stream_interval_s
        self.first_event_delay_s = first_event_delay_s  # delivery.slow-first-event only
        self.response_ids: set[str] = set()
        self.stopping = False  # set by RunningSandbox.stop(): ends deliberate stalls so shutdown is clean
        self._counter = itertools.count(1)

    def next_request_id(self) -> str:
        # Counter-based, so a fresh sandbox numbers its answers the same way every run.
        return f"sandbox-req-{next(self._counter):06d}"

    def set_deviations(self, names: Iterable[str]) -> None:
        """Switch the deviations over the mode's own (which stay on)."""
        self.deviations = deviations_of(self.mode) | _deviations.validate(names)

    async def hold(self, seconds: float, gone: Callable[[], Awaitable[bool]] | None = None) -> None:
        """Wait ``seconds`` (a deliberate stall), but stop early when the sandbox is stopping or ``gone()``
        says the client has left, so no stalled task outlives its purpose."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stopping:
            if gone is not None and await gone():
                return
            await asyncio.sleep(0.05)


@dataclass
class RequestContext:
    state: SandboxState
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
    # Closes the TCP connection under the response: drop(reset=True) sends a RST, reset=False a FIN after
    # flushing what was written. Set by the outermost ASGI layer; None when the server gives no handle.
    drop: Callable[[bool], None] | None = None

    def has(self, deviation: str) -> bool:
        return deviation in self.deviations

    def make_id(self, prefix: str, purpose: str = "") -> str:
        """A deterministic id: the same request number and purpose always give the same id.

        The tail is 24 lowercase hex digits so tests can normalise ids by pattern.
        """
        digest = hashlib.sha256(f"{self.request_id}/{purpose}".encode()).hexdigest()[:24]
        return f"{prefix}{digest}"
