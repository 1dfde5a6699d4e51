"""The scheduler's order, by construction: a fake transport records what is sent when (no clock, no network)."""

from __future__ import annotations

import asyncio

import pytest

from oimi_conformance.cases import Case, Step
from oimi_conformance.engine import RunConfig
from oimi_conformance.exchange import Exchange
from oimi_conformance.plan import CaseRun
from oimi_conformance.profile import load_profile
from oimi_conformance.scheduler import RetryPolicy, Scheduler, Slots, Turn, chain_costs
from oimi_conformance.stream_limits import StreamLimits
from oimi_conformance.transport import Request


class Recording:
    """Answers every request after one turn of the loop; the first answers to ``throttled`` ids are 429s."""

    def __init__(self, throttled: dict[str, int] | None = None) -> None:
        self.sent: list[str] = []
        self.throttled = dict(throttled or {})
        self.in_flight = 0
        self.most_in_flight = 0

    async def send(self, request: Request) -> Exchange:
        self.sent.append(request.exchange_id)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        status = 200
        if self.throttled.get(request.exchange_id, 0) > 0:
            self.throttled[request.exchange_id] -= 1
            status = 429
        return Exchange(request.exchange_id, request.method, request.url, {}, request.body, status=status,
                        response_headers={"retry-after": "0"}, body=b"{}")

    async def aclose(self) -> None:
        pass


def _case(case_id: str, steps: int = 1) -> Case:
    # each step a distinct request (a different body), so none is shared
    return Case(case_id, case_id, "openai", "chat", "chat",
                tuple(Step(f"s{i}", "createChatCompletion", body={"n": case_id, "i": i}) for i in range(steps)))


def _scheduler(transport: Recording, concurrency: int) -> Scheduler:
    config = RunConfig(base_url="http://127.0.0.1:9", keys={"main": "sk-test-key-0000"}, profile=load_profile("oimi"),
                       concurrency=concurrency)
    limits = StreamLimits(idle_timeout=5.0, total_timeout=20.0)
    return Scheduler(config, lambda: transport, limits, refused=lambda run: None, replaying=lambda: False)


def _send(runs: list[CaseRun], transport: Recording, concurrency: int = 1) -> Scheduler:
    scheduler = _scheduler(transport, concurrency)
    scheduler.run_async(scheduler.run_all(runs))
    return scheduler


def test_the_longest_chain_is_sent_first_and_its_next_link_takes_the_freed_slot():
    singles = [CaseRun(_case(f"single{i}"), "m", True, "bearer") for i in range(4)]
    chain = CaseRun(_case("chain", steps=3), "m", True, "bearer")
    transport = Recording()
    _send([*singles, chain], transport)  # planned last
    assert transport.sent[:2] == ["chain/m/s0", "chain/m/s1"]  # the third link ties with the single steps
    assert sorted(transport.sent) == sorted([f"single{i}/m/s0" for i in range(4)] + [f"chain/m/s{i}" for i in range(3)])


def test_a_run_sent_after_another_lengthens_that_ones_chain():
    base = CaseRun(_case("base"), "m", True, "bearer")
    feature = CaseRun(_case("feature", steps=2), "m", True, "bearer", after=base)
    lone = CaseRun(_case("lone", steps=2), "m", True, "bearer")
    costs = chain_costs([lone, feature, base])
    assert costs[id(base)] == 3 and costs[id(feature)] == 2 and costs[id(lone)] == 2
    transport = Recording()
    _send([lone, feature, base], transport)
    assert transport.sent[0] == "base/m/s0"


def test_a_429_waits_outside_the_slots_and_the_exchange_counts_its_attempts():
    first, other = CaseRun(_case("first"), "m", True, "bearer"), CaseRun(_case("other"), "m", True, "bearer")
    transport = Recording(throttled={"first/m/s0": 1})
    _send([first, other], transport)
    assert transport.sent == ["first/m/s0", "other/m/s0", "first/m/s0"]  # the other request used the wait
    assert first.exchanges["s0"].status == 200 and first.exchanges["s0"].attempts == 2


def test_concurrency_bounds_the_requests_in_flight_and_identical_requests_are_sent_once():
    runs = [CaseRun(_case(f"c{i}"), "m", True, "bearer") for i in range(10)]
    twins = [CaseRun(_case("same"), "m", True, "bearer") for _ in range(3)]
    transport = Recording()
    scheduler = _send([*runs, *twins], transport, concurrency=4)
    assert transport.most_in_flight == 4
    assert transport.sent.count("same/m/s0") == 1 and scheduler.sent == 11
    assert all(t.exchanges["s0"] is twins[0].exchanges["s0"] for t in twins)


def test_slots_serve_by_priority_and_a_promoted_waiter_moves_up():
    async def scenario() -> list[str]:
        slots, served = Slots(1), []
        holder = Turn(0)
        await slots.acquire(holder)
        turns = {name: Turn(p) for name, p in (("low", 1), ("mid", 2), ("late", 1))}

        async def wait(name: str) -> None:
            async with slots.held(turns[name]):
                served.append(name)

        tasks = [asyncio.ensure_future(wait(name)) for name in turns]
        await asyncio.sleep(0)
        slots.promote(turns["late"], 5)
        slots.release()
        await asyncio.gather(*tasks)
        return served

    assert asyncio.run(scenario()) == ["late", "mid", "low"]


def test_a_cancelled_waiter_gives_up_its_place():
    async def scenario() -> list[str]:
        slots, served = Slots(1), []
        await slots.acquire(Turn(0))

        async def wait(name: str, priority: float) -> None:
            async with slots.held(Turn(priority)):
                served.append(name)

        gone, kept = asyncio.ensure_future(wait("gone", 9)), asyncio.ensure_future(wait("kept", 1))
        await asyncio.sleep(0)
        gone.cancel()
        slots.release()
        await kept
        with pytest.raises(asyncio.CancelledError):
            await gone
        return served

    assert asyncio.run(scenario()) == ["kept"]


def test_the_retry_policy_keeps_a_429_that_is_not_to_be_retried():
    retry = RetryPolicy(StreamLimits(idle_timeout=5.0, total_timeout=20.0))
    answer = Exchange("c/m/main", "POST", "http://h/", {}, None, status=429, response_headers={"retry-after": "1"})
    request = Request("c/m/main", "POST", "http://h/", {}, None)
    assert retry.next_wait(request, answer, 1, 0.0) == 1.0
    assert retry.next_wait(Request("c/m/main", "POST", "http://h/", {}, None, retry_429=False), answer, 1, 0.0) is None
    assert retry.next_wait(request, answer, 4, 0.0) is None  # three retries at most
    assert retry.next_wait(request, answer, 1, 19.5) is None  # the wait would outlast the exchange's bound
    answer.replayed = True
    assert retry.next_wait(request, answer, 1, 0.0) is None  # a recorded 429 is the recording's answer
