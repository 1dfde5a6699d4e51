"""Sending a prepared request and reading the answer under limits, for live runs.

Every network failure is turned into data here (``Exchange.fault`` or ``Exchange.stop``), in one
place, so no check and no report ever sees an httpx exception. A transport sends once: the scheduler
(``scheduler.py``) decides what is sent when, and retries 429 answers.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from .exchange import SPILL_BYTES, Exchange
from .framing import live_reader
from .redact import Redactor
from .stream_limits import StreamLimits, read_stream


@dataclass
class Request:
    """A request ready to send. Holds the real key: it never leaves this module unredacted."""

    exchange_id: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    expect_stream: str | None = None  # the framing a streamed step expects (framing.stream_framing)
    retry_429: bool = True


class Transport(Protocol):
    async def send(self, request: Request) -> Exchange: ...

    async def aclose(self) -> None: ...


class _Tee:
    """Keeps the raw bytes (up to a limit) while the framing reader parses them; past SPILL_BYTES they
    wait on disk, so the exchanges in flight do not each hold a big body in memory."""

    def __init__(self, inner: Any, max_bytes: int) -> None:
        self.inner = inner
        self.kept: Any = tempfile.SpooledTemporaryFile(max_size=SPILL_BYTES)  # noqa: SIM115 - closed by take()
        self.size = 0
        self.max_bytes = max_bytes

    def take(self) -> bytes:
        """Every byte kept, once; the buffer is released."""
        self.kept.seek(0)
        data: bytes = self.kept.read()
        self.kept.close()
        return data

    @property
    def bytes_fed(self) -> int:
        return self.size

    @property
    def truncated(self) -> bool:
        return bool(self.inner and self.inner.truncated)

    @property
    def pending_bytes(self) -> int:
        return self.inner.pending_bytes if self.inner else 0

    def feed(self, chunk: bytes, arrival: float | None = None) -> list[Any]:
        keep = chunk[: max(0, self.max_bytes - self.size)]
        self.kept.write(keep)
        self.size += len(keep)
        return self.inner.feed(chunk, arrival) if self.inner else []

    def close(self) -> list[Any]:
        return self.inner.close() if self.inner else []


def sent_headers(request: Request) -> dict[str, str]:
    """Every header the transport sends (the case's, plus what the transport adds), so the record and its
    ``curl`` reproduce the request exactly: a JSON body without its content-type is form data to curl."""
    headers = {"accept-encoding": "identity", **request.headers}
    if request.body is not None and not any(k.lower() == "content-type" for k in headers):
        headers["content-type"] = "application/json"
    return headers


def request_record(request: Request, redactor: Redactor, started: float = 0.0) -> Exchange:
    """The redacted record of a request, before any answer."""
    body = redactor.data(request.body) if request.body is not None else None
    return Exchange(id=request.exchange_id, method=request.method, url=redactor.url(request.url),
                    request_headers=redactor.headers(sent_headers(request)), request_body=body, started=started)


class CassetteTransport:
    """Replays from cassettes, and (by record mode) sends what they lack to a live transport.

    none: replay only; a request the cassettes lack is reported missing, never sent.
    new_episodes: replay what is held, send the rest. all: send everything. once: replay when the
    folder holds cassettes, else send everything (vcrpy's modes)."""

    def __init__(self, mode: str, library: Any, redactor: Redactor, live: Transport | None,
                 record_hint: str = "") -> None:
        self.mode = mode
        self.library = library
        self.redactor = redactor
        self.live = live
        self.record_hint = record_hint
        self.replay_first = mode in ("none", "new_episodes") or (mode == "once" and library.exists())
        self.replay = mode == "none" or (mode == "once" and self.replay_first)
        self.requests_sent = 0

    async def send(self, request: Request) -> Exchange:
        from .cassettes import exchange_from

        if self.replay_first:
            record = request_record(request, self.redactor)
            response = self.library.find(request.exchange_id, record.method, record.url, record.request_body,
                                         record.request_headers)
            if response is not None:
                return exchange_from(response, record)
            if self.live is None or self.replay:
                record.missing = (f"the cassettes in {self.library.root} hold no {record.method} "
                                  f"{record.url.split('?')[0]} for {request.exchange_id}; record it with "
                                  f"{self.record_hint or 'oimi-conformance run --record'}")
                return record
        assert self.live is not None
        self.requests_sent += 1
        return await self.live.send(request)

    async def aclose(self) -> None:
        if self.live is not None:
            await self.live.aclose()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: loading the CA bundle costs ~20 ms per client, and a run
    makes one client for the discovery and one for the exchanges."""
    return httpx.create_ssl_context(trust_env=False)


class LiveTransport:
    def __init__(self, redactor: Redactor, limits: StreamLimits, *, connect_timeout: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.redactor = redactor
        self.limits = limits
        self.clock = clock
        self.origin = clock()
        self.requests_sent = 0
        # trust_env=False: no proxy from the environment; the harness talks to the target only.
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=connect_timeout, read=limits.idle_timeout, write=connect_timeout,
                                  pool=None),
            follow_redirects=False, trust_env=False, verify=_tls_context(),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def _record(self, request: Request) -> Exchange:
        return request_record(request, self.redactor, round(self.clock() - self.origin, 4))

    async def send(self, request: Request) -> Exchange:
        """One attempt (the scheduler retries a 429)."""
        exchange = self._record(request)
        headers = sent_headers(request)
        start = self.clock()
        self.requests_sent += 1
        http_request = self.client.build_request(request.method, request.url, headers=headers, content=request.body)
        try:
            response = await asyncio.wait_for(self.client.send(http_request, stream=True),
                                               self.limits.total_timeout)
        except (asyncio.TimeoutError, httpx.TimeoutException):
            exchange.fault = f"no response headers within {self.limits.total_timeout:g}s"
        except httpx.ConnectError as exc:
            exchange.fault = f"cannot connect: {self.redactor.text(str(exc)) or type(exc).__name__}"
        except httpx.HTTPError as exc:  # reset, protocol error before headers
            exchange.fault = f"{type(exc).__name__}: {self.redactor.text(str(exc))}"
        if exchange.fault:
            exchange.elapsed = self.clock() - start
            return exchange
        exchange.headers_at = self.clock() - start
        try:
            exchange.status = response.status_code
            raw_headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
            exchange.response_headers = self.redactor.headers(response.headers.multi_items())
            tee = _Tee(live_reader(exchange.content_type, response.status_code, request.expect_stream),
                       self.limits.max_bytes)
            remaining = max(0.1, self.limits.total_timeout - (self.clock() - start))
            limits = StreamLimits(self.limits.idle_timeout, remaining, self.limits.max_bytes)
            transcript = await read_stream(response.aiter_raw(), tee, limits, clock=self.clock)
        finally:
            await response.aclose()
        # from here to the spill of the redacted body nothing awaits: one big body in memory at a time
        raw = tee.take()
        exchange.key_echoes = sorted({*self.redactor.leaks(raw_headers), *self.redactor.leaks(raw)})
        exchange.wire_bytes = transcript.bytes_read  # what the gateway sent, before redaction shortened it
        exchange.body = self.redactor.data(raw)
        del raw
        # events were parsed from the raw bytes: redacted again, after decoding
        exchange.events = [self.redactor.event(e) for e in transcript.items] if tee.inner is not None else []
        exchange.stop = transcript.stop
        if exchange.stop is not None and exchange.stop.detail:
            exchange.stop.detail = self.redactor.text(exchange.stop.detail)
        exchange.first_byte_at = transcript.first_byte_at
        exchange.chunk_arrivals = transcript.chunk_arrivals
        exchange.elapsed = self.clock() - start
        return exchange
