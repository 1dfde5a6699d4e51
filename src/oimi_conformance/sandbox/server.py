"""Running the sandbox: in a background thread for tests and the harness, or in the foreground for the CLI.

It only ever binds to 127.0.0.1: the sandbox is a local stand-in, never a service.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import cast

import uvicorn
from starlette.applications import Starlette

from . import deviations as _deviations
from .app import build_app
from .catalog import ModelSpec
from .context import SandboxState
from .modes import DEFAULT_MODE, deviations_of

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class SandboxConfig:
    """How a sandbox behaves.

    mode:              ``new-api`` (default: a healthy new-api, as Oimi runs it) or ``reference`` (the
                       protocol references' ideal gateway); see ``modes.py``
    deviations:        names from ``deviations.DEVIATION_NAMES`` (unknown names raise ValueError),
                       switched on over the mode's own
    latency_s:         delay added before answering each request
    stream_interval_s: pause between two stream events
    first_event_delay_s: with delivery.slow-first-event, the wait before a stream's first event (default past
                       the 20 s limit of delivery.first-event; tests lower both)
    models:            replaces the default catalogue (``catalog.DEFAULT_MODELS``)
    extra_models:      adds clones of sandbox-omni named sandbox-omni-01, -02... (for benchmarks)
    """

    deviations: frozenset[str] = field(default_factory=frozenset)
    mode: str = DEFAULT_MODE
    latency_s: float = 0.0
    stream_interval_s: float = 0.02  # like a fast model; wide enough to measure delivery on a busy client
    models: tuple[ModelSpec, ...] | None = None
    extra_models: int = 0
    first_event_delay_s: float = 25.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "deviations", _deviations.validate(self.deviations))
        deviations_of(self.mode)  # ValueError for an unknown mode
        if self.models is not None:
            object.__setattr__(self, "models", tuple(self.models))
        if min(self.latency_s, self.stream_interval_s, self.extra_models, self.first_event_delay_s) < 0:
            raise ValueError("latency_s, stream_interval_s, first_event_delay_s and extra_models must not be negative")


def _uvicorn_config(config: SandboxConfig) -> uvicorn.Config:
    return uvicorn.Config(
        build_app(config),
        log_config=None,  # never reconfigure the host application's logging
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="h11",
        ws="none",
        proxy_headers=False,
        server_header=False,
        # Stalled streams (delivery.stall, robustness.slow-headers) are cancelled after this many seconds.
        timeout_graceful_shutdown=1,
    )


class RunningSandbox:
    """A sandbox serving on loopback in a daemon thread. Use as a context manager, or call ``stop()``."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket) -> None:
        self._server = server
        self._thread = thread
        self._socket = sock
        self.host, self.port = sock.getsockname()[:2]
        self.base_url = f"http://{self.host}:{self.port}"

    @property
    def state(self) -> SandboxState:
        app = cast(Starlette, self._server.config.app)  # uvicorn types it as any ASGI app; ours is build_app's
        return app.state.sandbox

    @property
    def deviations(self) -> frozenset[str]:
        return self.state.deviations

    def set_deviations(self, names: Iterable[str]) -> None:
        """Switch the active deviations of the running sandbox (validated like SandboxConfig's)."""
        self.state.set_deviations(names)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; returns within ``timeout`` seconds even with stalled streams open."""
        self.state.stopping = True
        self._server.should_exit = True
        self._thread.join(timeout=max(0.0, timeout - 1.0))
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=1.0)
        with contextlib.suppress(OSError):
            self._socket.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningSandbox {self.base_url} mode={self.state.mode} deviations={sorted(self.deviations)}>"


def _bind(host: str, port: int) -> socket.socket:
    if host != LOOPBACK:
        raise ValueError(f"the sandbox binds to {LOOPBACK} only, not {host!r}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit it: without it, small stream events wait ~40 ms for Nagle and arrive in bursts
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def start_sandbox(
    config: SandboxConfig | None = None, host: str = LOOPBACK, port: int = 0, *, startup_timeout: float = 10.0
) -> RunningSandbox:
    """Start a sandbox on ``host:port`` (port 0 picks a free one) and return once it accepts connections."""
    config = config or SandboxConfig()
    sock = _bind(host, port)
    server = uvicorn.Server(_uvicorn_config(config))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"oimi-sandbox-{sock.getsockname()[1]}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the sandbox did not start (see the uvicorn log above)")
        time.sleep(0.005)
    return RunningSandbox(server, thread, sock)


def serve_forever(config: SandboxConfig | None = None, port: int = 8787, host: str = LOOPBACK) -> None:
    """Serve in the foreground until interrupted (Ctrl-C): the ``oimi-conformance sandbox`` command."""
    config = config or SandboxConfig()
    sock = _bind(host, port)
    uconfig = _uvicorn_config(config)
    uvicorn.Server(uconfig).run(sockets=[sock])
