"""The faithful sandbox passes every check, and each deviation makes the checks that claim to catch
it fail for the reason they name (tests/deviation_catches/*.yaml). Each deviation runs only the areas its
checks belong to."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from oimi_conformance.checks import select
from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.profile import Profile, load_expectations, load_profile
from oimi_conformance.sandbox.deviations import DEVIATION_NAMES
from oimi_conformance.target import SANDBOX_KEYS


def load_catches(folder: Path) -> dict[str, dict[str, str]]:
    """deviation -> {check id: the failure reason it trips}, a text every failure it claims must contain."""
    catches: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        for name, claims in (yaml.safe_load(path.read_text()) or {}).items():
            if not isinstance(claims, dict) or not all(isinstance(v, str) and v for v in claims.values()):
                raise ValueError(f"{path.name}: {name}: map each check to the failure reason it trips")
            catches.setdefault(name, {}).update(claims)
    return catches


CATCHES = load_catches(Path(__file__).parent / "deviation_catches")

# Deviations that only slow a run down, whose catching is proven in tests/test_run.py with short timeouts.
PROVEN_ELSEWHERE = {"robustness.slow-headers", "robustness.reset", "robustness.huge-body"}
# Deviations that break an official SDK rather than a contract check: proven in tests/test_sdk_suite.py, which
# also proves that every SDK check (area sdk, judged from no exchange) is tripped by some deviation.
PROVEN_BY_SDK = {"gemini.ping-comment"}
PROVEN_ELSEWHERE |= PROVEN_BY_SDK
# new-api behaviours legal under the oimi profile (a 404 for a wrong method, no Retry-After, an unrouted
# client endpoint reported unsupported): proven in tests/test_new_api.py under strict-native or by their skip.
PROVEN_ELSEWHERE |= {"errors.no-retry-after", "errors.wrong-method-404", "models.gemini-get-unrouted",
                     "responses.compact-drops-stream"}  # compact.stream-requested allows 200 (stream ignored) or 400


# Deviations that show on any stream or any route: judged on the chat cases.
STREAM_FAMILIES = {"delivery", "robustness"}

# Deviations that break GET /v1/models itself: name the models instead of discovering them.
NO_DISCOVERY = {"robustness.html-200": ["sandbox-omni"]}

# Checks judged on other areas' cases (a model's claims are tested by probing its endpoints).
CASES_OF_CHECK = {"models.claimed-endpoint-works": ["chat.basic", "compact.basic"]}


# Deviations judged under a profile with a lowered limit, so that no test waits out the real one. The sandbox
# holds the first event back for FIRST_EVENT_DELAY_S seconds, which the client cannot see any sooner than that
# after sending: the failure does not depend on how fast the machine is.
FIRST_EVENT_DELAY_S = 0.3
PROFILE_CHANGES = {"delivery.slow-first-event": {"first_event_s": FIRST_EVENT_DELAY_S / 2}}


def _run(base_url: str, checks: list[str] | None, timeout: float = 30.0, models: list[str] | None = None,
         cases: list[str] | None = None, profile: Profile | None = None):
    config = RunConfig(base_url=base_url, keys=dict(SANDBOX_KEYS), profile=profile or load_profile("oimi"),
                       expectations=load_expectations("sandbox"), checks=checks, concurrency=16, timeout=timeout,
                       models=models, cases=cases)
    return Engine(config).run()


def test_every_deviation_is_claimed_by_some_check():
    unclaimed = sorted(set(DEVIATION_NAMES) - set(CATCHES) - PROVEN_ELSEWHERE)
    assert not unclaimed, f"deviations no check claims to catch: {unclaimed}"
    unknown = sorted(set(CATCHES) - set(DEVIATION_NAMES))
    assert not unknown, f"catch files name deviations the sandbox lacks: {unknown}"


def test_every_check_is_claimed_by_a_deviation():
    claimed = {check for claims in CATCHES.values() for check in claims}
    unclaimed = sorted({c.id for c in select() if c.area != "sdk"} - claimed)
    assert not unclaimed, f"checks no sandbox deviation is proven to trip: {unclaimed}"


def test_catch_files_name_real_checks():
    known = {c.id for c in select()}
    for name, checks in CATCHES.items():
        assert set(checks) <= known, f"{name}: unknown check(s) {sorted(set(checks) - known)}"


# Checks that cannot pass in a plain run against the sandbox, each for its stated reason.
CANNOT_PASS_HERE = {c.id: "drives an official SDK: runs only with --sdk (tests/test_sdk_suite.py)"
                    for c in select() if c.area == "sdk"}


@pytest.mark.slow
def test_faithful_sandbox_passes_every_check(sandbox):
    record = _run(sandbox.base_url, None)
    bad = [f"{r.check_id} {r.case_id} {r.model}: {r.message}" for r in record.results
           if r.outcome in ("failed", "error")]
    assert bad == []
    # every check that can run here passed at least once: none is only ever skipped or expected to fail
    passed = {r.check_id for r in record.results if r.outcome == "passed"}
    never = sorted({c.id for c in select()} - set(CANNOT_PASS_HERE) - passed)
    assert never == [], f"checks that never passed on the faithful sandbox: {never}"
    # and those excluded really did not run: the exclusion hides nothing that passes
    assert not passed & set(CANNOT_PASS_HERE)


@pytest.fixture(scope="module")
def switchable():
    """Two sandboxes whose deviations are switched per test: one paced like a model, one fast."""
    from oimi_conformance.sandbox.server import SandboxConfig, start_sandbox

    with start_sandbox(SandboxConfig(stream_interval_s=0.02, first_event_delay_s=FIRST_EVENT_DELAY_S,
                                     mode="reference")) as paced, \
            start_sandbox(SandboxConfig(stream_interval_s=0.001, mode="reference")) as fast:
        yield {"paced": paced, "fast": fast}


@pytest.mark.parametrize("deviation", sorted(CATCHES))
@pytest.mark.slow
def test_deviation_is_caught(switchable, deviation):
    claimed = CATCHES[deviation]
    family = deviation.split(".")[0]
    # streams paced fast: only the delivery checks need realistic pacing, and only they judge timing
    sandbox = switchable["paced" if family == "delivery" else "fast"]
    sandbox.set_deviations([deviation])
    areas = sorted({c.split(".")[0] + ".*" for c in claimed})
    # the cases where this deviation can show: its own family's and its claimed checks' areas
    cases = sorted({f"{family}.*", f"errors.{family}.*", f"auth.{family}.*", "models.list",
                    *(f"{c.split('.')[0]}.*" for c in claimed),
                    *(pattern for c in claimed for pattern in CASES_OF_CHECK.get(c, ()))}
                   | ({"chat.*"} if family in STREAM_FAMILIES else set()))
    stalls = deviation in ("delivery.stall",)
    profile = dataclasses.replace(load_profile("oimi"), **PROFILE_CHANGES.get(deviation, {}))
    try:
        record = _run(sandbox.base_url, areas, timeout=1.0 if stalls else 30.0, models=NO_DISCOVERY.get(deviation),
                      cases=cases, profile=profile)
    finally:
        sandbox.set_deviations([])
    failures: dict[str, list[str]] = {}
    for r in record.results:
        if r.outcome == "failed":
            failures.setdefault(r.check_id, []).append(r.message)
    missed = [c for c in claimed if c not in failures]
    assert not missed, f"{deviation} was not caught by {missed}; failed checks: {sorted(failures)}"
    # each check fails for the reason claimed, not merely for some reason
    wrong = {c: failures[c][:3] for c, reason in claimed.items() if not any(reason in m for m in failures[c])}
    assert not wrong, f"{deviation}: these checks failed, but not for the claimed reason {claimed}: {wrong}"
    assert not [r for r in record.results if r.message.startswith("internal error")]


def test_catch_claims_need_their_reason(tmp_path):
    """A claim without the failure reason it trips is refused: a check id alone proves only that it failed."""
    (tmp_path / "bare.yaml").write_text("chat.ignores-n: [chat.n-honoured]\n")
    with pytest.raises(ValueError, match="failure reason"):
        load_catches(tmp_path)
