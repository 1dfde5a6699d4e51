"""Sending a run's requests: each identical request once, within the request budget, ``--concurrency`` at a
time, within ``--max-duration``, a case's steps in order, a run sent ``after`` another once that one is
answered, and 429 answers retried per ``Retry-After``.

The order matters as much as the concurrency: a run of four steps, or a probe that waits for its endpoint's
basic request, is a chain no amount of concurrency shortens. Scheduled first come first served, such a chain
starts its last link when everything else is done, and the run ends with one request in flight. So the
slots go to the request with the longest chain still behind it first (critical-path list scheduling), and a
429's wait is spent outside the slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .exchange import Exchange
from .framing import stream_framing
from .plan import CaseRun, build_request
from .stream_limits import StreamLimits
from .transport import Request, Transport

if TYPE_CHECKING:
    from .engine import RunConfig

RequestKey = tuple[Any, ...]


@dataclass
class Turn:
    """One request's place in the queue for a slot; a more urgent requester of the same request promotes it."""

    priority: float
    ready: asyncio.Future[None] | None = None  # set while it waits


class Slots:
    """A semaphore whose waiters are served by priority (highest first, then in order of arrival)."""

    def __init__(self, size: int) -> None:
        self.free = max(1, size)
        self.waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self.arrivals = itertools.count()

    async def acquire(self, turn: Turn) -> None:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        turn.ready = ready
        heapq.heappush(self.waiting, (-turn.priority, next(self.arrivals), ready))
        if self.free > 0:  # a slot is free, a hand-over just not yet run: it serves the best waiter, maybe this one
            loop.call_soon(self._hand_over)
        try:
            await ready
        except asyncio.CancelledError:
            if ready.done() and not ready.cancelled():  # handed a slot just as it was cancelled: pass it on
                self.release()
            raise
        finally:
            turn.ready = None

    def promote(self, turn: Turn, priority: float) -> None:
        """Raise a waiting turn's priority (the stale entry stays in the heap and is skipped once served)."""
        if priority <= turn.priority:
            return
        turn.priority = priority
        if turn.ready is not None and not turn.ready.done():
            heapq.heappush(self.waiting, (-priority, next(self.arrivals), turn.ready))

    def release(self) -> None:
        self.free += 1
        if self.waiting:
            # handed over on the loop's next turn: by then the releasing case run has queued its next step
            # (nothing awaits between its answer and that), so a chain's next link competes for this slot
            asyncio.get_running_loop().call_soon(self._hand_over)

    def _hand_over(self) -> None:
        while self.free > 0 and self.waiting:
            _, _, ready = heapq.heappop(self.waiting)
            if not ready.done():  # a cancelled waiter, or a stale entry of a promoted one, is skipped
                self.free -= 1
                ready.set_result(None)
        while self.waiting and self.waiting[0][2].done():  # no stale entry keeps the fast path shut
            heapq.heappop(self.waiting)

    @contextlib.asynccontextmanager
    async def held(self, turn: Turn) -> Any:
        await self.acquire(turn)
        try:
            yield
        finally:
            self.release()


@dataclass
class RetryPolicy:
    """When a 429 is sent again: after its ``Retry-After`` (or 1, 2, 4 s), at most ``max_retries`` times, and
    never when the wait would stretch the exchange past the run's bound on one exchange."""

    limits: StreamLimits
    max_retries: int = 3
    max_retry_wait: float = 30.0

    def wait(self, exchange: Exchange, attempts: int) -> float:
        value = exchange.response_headers.get("retry-after", "")
        try:
            wait = float(value)
        except ValueError:
            wait = 2.0 ** (attempts - 1)  # no usable Retry-After: back off 1, 2, 4 s
        if wait != wait:  # NaN
            wait = 0.0
        return max(0.0, min(wait, self.max_retry_wait, self.limits.idle_timeout))

    def next_wait(self, request: Request, exchange: Exchange, attempts: int, spent: float) -> float | None:
        """Seconds to wait before sending ``request`` again, or None to keep this answer."""
        if exchange.status != 429 or not request.retry_429 or exchange.replayed or attempts > self.max_retries:
            return None
        wait = self.wait(exchange, attempts)
        return None if wait > self.limits.total_timeout - spent else wait


def step_cost(run: CaseRun, index: int) -> int:
    """A rough length of a step: a streamed answer's events come over time, so it counts double."""
    return 2 if run.case.steps[index].stream else 1


def chain_costs(runs: list[CaseRun]) -> dict[int, int]:
    """id(run) -> the length of the longest chain that starts with it: its own steps, then the longest of
    the runs sent ``after`` it."""
    after: dict[int, list[CaseRun]] = {}
    for run in runs:
        if run.after is not None:
            after.setdefault(id(run.after), []).append(run)
    costs: dict[int, int] = {}

    def cost(run: CaseRun) -> int:
        if id(run) not in costs:
            own = sum(step_cost(run, i) for i in range(len(run.case.steps)))
            costs[id(run)] = own + max((cost(r) for r in after.get(id(run), ())), default=0)
        return costs[id(run)]

    for run in runs:
        cost(run)
    return costs


class Scheduler:
    """Sends case runs through a transport bound to one event loop at a time (``with_transport``)."""

    def __init__(self, config: RunConfig, transport_factory: Callable[[], Transport], limits: StreamLimits,
                 refused: Callable[[CaseRun], str | None], replaying: Callable[[], bool]) -> None:
        self.config = config
        self.transport_factory = transport_factory
        self.retry = RetryPolicy(limits)
        self.refused = refused  # why a run counts as refused by its model (a clean 4xx): its `after` runs are not sent
        self.replaying = replaying
        self.transport: Transport | None = None
        self.slots = Slots(config.concurrency)
        self.sent = 0  # distinct requests asked for (each identical request counts once)
        self.network_requests = 0  # what the transports really sent, retries included
        self.cache: dict[RequestKey, asyncio.Future[Exchange]] = {}
        self.turns: dict[RequestKey, Turn] = {}
        self.finished: dict[RequestKey, Exchange] = {}  # answers of earlier phases (the discovery's model list)
        self.tasks: dict[int, asyncio.Future[None]] = {}  # id(case run) -> its exchange, for runs sent `after` it
        self.costs: dict[int, int] = {}
        self.done = 0
        self.total = 0
        self.clock_started = time.monotonic()

    # -- the transport's life ---------------------------------------------------------------------

    async def with_transport(self, work: Awaitable[Any]) -> Any:
        """Run ``work`` with a transport (and slots) bound to the current event loop."""
        self.transport = self.transport_factory()
        self.slots = Slots(self.config.concurrency)
        self.cache, self.turns = {}, {}
        try:
            return await work
        finally:
            self.network_requests += getattr(self.transport, "requests_sent", 0)
            await self.transport.aclose()

    def run_async(self, work: Awaitable[Any]) -> Any:
        """``work`` on a fresh event loop with a transport, with the network blocked while replaying."""
        with self.blocked():
            return asyncio.run(self.with_transport(work))

    @contextlib.contextmanager
    def blocked(self) -> Iterator[None]:
        """No network at all while replaying."""
        if not self.replaying():
            yield
            return
        from .cassettes import network_blocked

        with network_blocked():
            yield

    # -- bounds -------------------------------------------------------------------------------------

    def remaining(self) -> float | None:
        """Seconds left of --max-duration (None: unbounded)."""
        if self.config.max_duration is None:
            return None
        return max(0.0, self.clock_started + self.config.max_duration - time.monotonic())

    def budget_left(self) -> bool:
        return self.config.max_requests is None or self.sent < self.config.max_requests

    def unfinished(self) -> str:
        return f"unfinished: the run reached --max-duration {self.config.max_duration:g}s"

    # -- sending ------------------------------------------------------------------------------------

    async def send(self, request: Request, priority: float = 0.0) -> Exchange:
        """The answer to ``request``; an identical request already sent (or in flight) is not sent again."""
        key = (request.method, request.url, tuple(sorted(request.headers.items())), request.body)
        if key in self.finished:  # answered in an earlier phase (e.g. the discovery's model list)
            return self.finished[key]
        shared = self.cache.get(key)
        if shared is not None:  # asked for again, maybe by a longer chain: it waits no longer than that chain
            self.slots.promote(self.turns[key], priority)
            return await asyncio.shield(shared)  # one asker stopped does not stop the others' answer
        # the first asker sends it itself, at once (a task of its own would start only after every other
        # case run has built its request), and shares the answer with those who ask for it meanwhile
        self.sent += 1
        shared = self.cache[key] = asyncio.get_running_loop().create_future()
        self.turns[key] = Turn(priority)
        try:
            exchange = await self._send_retrying(request, self.turns[key])
        except BaseException as exc:
            if not shared.done():
                if isinstance(exc, Exception):
                    shared.set_exception(exc)
                    shared.exception()  # told to those who wait, and not logged as never retrieved
                else:
                    shared.cancel()
            raise
        if not shared.done():
            shared.set_result(exchange)
        self.finished[key] = exchange
        return exchange

    async def _send_retrying(self, request: Request, turn: Turn) -> Exchange:
        assert self.transport is not None
        attempts, first = 0, time.monotonic()
        started: float | None = None
        while True:
            attempts += 1
            async with self.slots.held(turn):
                exchange = await self.transport.send(request)
            if started is None:
                started = exchange.started
            if attempts > 1:  # the whole exchange: the first attempt's start, retries and their waits included
                exchange.attempts, exchange.started = attempts, started
                exchange.elapsed = time.monotonic() - first
            wait = self.retry.next_wait(request, exchange, attempts, time.monotonic() - first)
            if wait is None:
                return exchange
            await asyncio.sleep(wait)  # outside the slots: a wait sends nothing

    async def run_case(self, run: CaseRun) -> None:
        """Send the steps of one case run in order, each built from the answers before it."""
        earlier: dict[str, Any] = {}
        if run.after is not None and not run.not_sent:
            base = self.tasks.get(id(run.after))
            if base is not None:
                await base
            if self.refused(run.after):
                status = run.after.exchanges[run.after.case.steps[0].name].status
                run.not_sent = (f"not probed: the model refused {run.after.case.id} (HTTP {status}), "
                                "the basic request of this endpoint")
        left = self.costs.get(id(run), 0)  # the chain still behind this step, itself included
        for index, step in enumerate(run.case.steps):
            if run.not_sent:
                break
            if self.remaining() == 0.0:
                run.not_sent = self.unfinished()
                break
            if not self.budget_left():
                run.not_sent = f"request budget (--max-requests {self.config.max_requests}) exhausted"
                break
            method, url, headers, body = build_request(run.case, step, run.model, self.config.base_url,
                                                       self.config.keys, earlier)
            if step.url_from:
                # a URL an answer handed back (an image on a CDN): fetched bare, never with the run's headers
                run.not_sent = why_not_follow(url, self.config.follow_urls)
                if run.not_sent:
                    break
            else:
                headers = self.config.headers.applied(headers, f"case {run.case.id}")
            expect_stream = stream_framing(step.operation, url) if step.stream else None
            model = "-" if run.model is None else run.model  # "" is a model id too, not "no model"
            request = Request(f"{run.case.id}/{model}/{step.name}", method, url, headers, body, expect_stream,
                              step.retry_429)
            exchange = await self.send(request, left)
            left -= step_cost(run, index)
            if step.url_from and exchange.missing:  # a recording made without following URLs
                run.not_sent = f"not judged: the recording has no answer to GET {url} (a replay sends nothing)"
                break
            run.exchanges[step.name] = exchange
            earlier[step.name] = exchange.json
            if exchange.fault:
                break
            if step.expect.success and not 200 <= (exchange.status or 0) < 300:
                break  # later steps build on this answer: a failed step leaves them nothing to send
        self.done += 1
        if self.config.progress and (self.done % 10 == 0 or self.done == self.total):
            self.config.progress(f"exchanged {self.done}/{self.total} cases, {self.sent} requests")

    async def run_all(self, runs: list[CaseRun]) -> None:
        """Send every run, the longest chains first; at --max-duration what is in flight is stopped and
        reported unfinished."""
        self.total = len(runs)
        self.costs = chain_costs(runs)
        # started longest chain first: the free slots go to the first requests sent
        by_chain = sorted(runs, key=lambda r: -self.costs[id(r)])
        self.tasks = {id(r): asyncio.ensure_future(self.run_case(r)) for r in by_chain}
        if not self.tasks:
            return
        _, pending = await asyncio.wait(self.tasks.values(), timeout=self.remaining())
        if pending:  # --max-duration reached: stop what is in flight; it is reported unfinished
            stopping = set(pending)
            for _ in range(20):  # asyncio.wait_for (3.11) can swallow a cancel that races a chunk: cancel again
                for task in stopping:
                    task.cancel()
                _, stopping = await asyncio.wait(stopping, timeout=0.25)
                if not stopping:
                    break
            for run in runs:
                if self.tasks[id(run)] in pending and not run.not_sent:
                    run.not_sent = self.unfinished()


def why_not_follow(url: str, follow: bool) -> str | None:
    """Why a step that GETs a URL an answer handed back is not sent, or None to send it."""
    if not follow:
        return "not sent: --no-follow-urls (the URL an answer handed back is not fetched)"
    if not url.startswith(("http://", "https://")):
        return f"not sent: the answer handed back no absolute http(s) URL to fetch ({url[:80]!r})"
    return None
