"""A real sandbox on loopback, shared by a test module; tests talk to it with httpx only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from oimi_conformance.sandbox import RunningSandbox, SandboxConfig, start_sandbox, wire

from .helpers import Lockstep, bearer

# Slow enough that event arrival times are measurably spread, fast enough for a quick suite.
STREAM_INTERVAL_S = 0.01


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    running = start_sandbox(SandboxConfig(stream_interval_s=STREAM_INTERVAL_S, mode="reference"))
    assert running.base_url.startswith("http://127.0.0.1:")
    yield running
    running.stop()


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A client with the valid key; deviations are reset to none for every test."""
    sandbox.set_deviations([])
    with httpx.Client(base_url=sandbox.base_url, headers=bearer(), timeout=10.0) as c:
        yield c


@pytest.fixture
def anon(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A client that presents no key at all."""
    sandbox.set_deviations([])
    with httpx.Client(base_url=sandbox.base_url, timeout=10.0) as c:
        yield c


@pytest.fixture
def lockstep(monkeypatch: pytest.MonkeyPatch) -> Lockstep:
    """Stream writes held until the client has read the previous ones (see helpers.Lockstep); read with
    ``lockstep.post``. The sandbox's own delivery (its deviations, its pauses) runs unchanged inside."""
    gate = Lockstep()
    deliver = wire._deliver

    async def gated(ctx: Any, chunks: list[bytes]) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in deliver(ctx, chunks):
            if sent:
                await gate.until_read(sent)
            sent += len(chunk)
            yield chunk

    monkeypatch.setattr(wire, "_deliver", gated)
    return gate
