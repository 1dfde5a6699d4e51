"""The official SDKs as clients: every SDK check passes on the faithful sandbox, each is tripped by some
sandbox deviation (a real SDK failing on a real fault), and the suite runs through `oimi-conformance run
--sdk` into results.json with each SDK's version."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from oimi_conformance.cli import main
from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.profile import Expectation, Expectations, load_profile
from oimi_conformance.sandbox.deviations import DEVIATION_NAMES
from oimi_conformance.sandbox.server import SandboxConfig, start_sandbox
from oimi_conformance.sdk import requested, run_sdk_check, sdk_checks, target_of
from oimi_conformance.specdir import spec_root
from oimi_conformance.target import SANDBOX_KEYS

for _sdk in ("openai", "anthropic", "google.genai"):  # the `sdk` extra (in `dev`)
    pytest.importorskip(_sdk)

# Each deviation, and the SDK checks it must make fail: what a real SDK does with that fault.
TRIPS: dict[str, list[str]] = {
    "auth.bad-key-403": ["sdk.openai.error-bad-key", "sdk.anthropic.error-bad-key"],  # PermissionDeniedError
    "auth.accept-any-key": ["sdk.openai.error-bad-key", "sdk.anthropic.error-bad-key"],
    "errors.unknown-model-503": ["sdk.openai.error-unknown-model"],  # InternalServerError, retried by default
    "robustness.html-200": ["sdk.openai.models-list", "sdk.openai.chat-create"],  # a str, not a ChatCompletion
    "chat.stream.no-finish-reason": ["sdk.openai.chat-stream"],
    "chat.stream.no-usage-chunk": ["sdk.openai.chat-stream"],
    "responses.empty-output-text": ["sdk.openai.responses-create"],
    "responses.text-mismatch": ["sdk.openai.responses-stream"],
    "embeddings.fewer-vectors": ["sdk.openai.embeddings-float"],
    "embeddings.base64-ignored": ["sdk.openai.embeddings-base64"],
    "images.url-relative": ["sdk.openai.images"],
    "messages.empty-text": ["sdk.anthropic.messages-create", "sdk.anthropic.messages-stream"],
    "messages.missing-stops": ["sdk.anthropic.messages-stream"],
    "messages.noncontiguous-index": ["sdk.anthropic.messages-stream-final"],  # IndexError in the stream helper
    "messages.bad-stop-reason": ["sdk.anthropic.tool-use"],
    "auth.goog-key-ignored": ["sdk.google.generate-content", "sdk.google.generate-content-stream"],
    "gemini.ping-comment": ["sdk.google.generate-content-stream"],  # google-genai parses ': PING' as JSON
    "gemini.error-mid-stream": ["sdk.google.generate-content-stream"],
}

# Faults the official SDKs tolerate: only the contract checks catch them (chat.stream.framing does).
TOLERATED: dict[str, list[str]] = {
    "chat.stream.no-done": ["sdk.openai.chat-stream"],
    "chat.stream.double-done": ["sdk.openai.chat-stream"],
}


@pytest.fixture(scope="module")
def switchable():
    with start_sandbox(SandboxConfig(stream_interval_s=0.001, mode="reference")) as sandbox:
        engine = Engine(RunConfig(base_url=sandbox.base_url, keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                                  checks=["sdk.*"], timeout=10))
        engine.prepare()  # discovery only: no case applies to an SDK check
        yield sandbox, engine


def _run(switchable, deviation: str | None, ids: list[str] | None = None):
    sandbox, engine = switchable
    sandbox.set_deviations([deviation] if deviation else [])
    target = target_of(engine)
    return {c.id: run_sdk_check(c, target) for c in sdk_checks() if ids is None or c.id in ids}


@pytest.mark.slow
def test_faithful_sandbox_passes_every_sdk_check(switchable):
    results = _run(switchable, None)
    assert len(results) >= 17
    bad = {k: r.message for k, r in results.items() if r.outcome != "passed"}
    assert bad == {}
    for r in results.values():
        package = {"openai": "openai", "anthropic": "anthropic", "google": "google-genai"}[r.check_id.split(".")[1]]
        assert r.sdk_version and r.sdk_version.startswith(package + " ")
        assert r.message.startswith(r.sdk_version) and r.endpoint == "sdk"
    assert results["sdk.google.generate-content"].model == "sandbox-omni"  # the model claiming the most endpoints
    assert results["sdk.openai.embeddings-float"].model == "sandbox-embed"
    assert "POST /v1beta/models/sandbox-omni:generateContent -> 200" in results["sdk.google.generate-content"].message


@pytest.mark.parametrize("deviation", sorted(TRIPS))
def test_deviation_makes_the_sdk_check_fail(switchable, deviation):
    results = _run(switchable, deviation, TRIPS[deviation])
    assert {k: r.outcome for k, r in results.items()} == dict.fromkeys(TRIPS[deviation], "failed"), \
        {k: r.message for k, r in results.items()}


@pytest.mark.parametrize("deviation", sorted(TOLERATED))
def test_faults_the_sdk_tolerates_pass_its_check(switchable, deviation):
    results = _run(switchable, deviation, TOLERATED[deviation])
    assert all(r.outcome == "passed" for r in results.values())


def test_every_sdk_check_is_tripped_by_some_deviation():
    assert set(TRIPS) | set(TOLERATED) <= set(DEVIATION_NAMES)
    tripped = {c for checks in TRIPS.values() for c in checks}
    assert tripped == {c.id for c in sdk_checks()}


def test_failures_name_the_exception_class_and_the_retry_the_sdk_would_make(switchable):
    unknown = _run(switchable, "errors.unknown-model-503", ["sdk.openai.error-unknown-model"])
    message = unknown["sdk.openai.error-unknown-model"].message
    assert "expected BadRequestError or NotFoundError" in message and "openai.InternalServerError (HTTP 503)" in message
    assert "max_retries=2" in message and "3 times" in message
    forbidden = _run(switchable, "auth.bad-key-403", ["sdk.anthropic.error-bad-key"])["sdk.anthropic.error-bad-key"]
    assert "anthropic.PermissionDeniedError (HTTP 403)" in forbidden.message
    assert "sk-sandbox" not in forbidden.message  # keys never appear in a message


def test_strict_expectations_fail_an_sdk_check_that_now_passes(switchable):
    sandbox, engine = switchable
    sandbox.set_deviations([])
    target = target_of(engine)
    target.expectations = Expectations([Expectation(check="sdk.openai.models-list", reason="was broken")], "x.toml")
    [check] = sdk_checks(["sdk.openai.models-list"])
    assert run_sdk_check(check, target).outcome == "passed"
    target.strict_expectations = True
    result = run_sdk_check(check, target)
    assert result.outcome == "failed" and "expected failure now passes: update x.toml" in result.message


def test_sdk_checks_run_only_when_asked():
    assert not requested(False, None) and not requested(False, ["chat.*"])
    assert requested(True, None) and requested(False, ["sdk.openai.*"])
    assert {c.id for c in sdk_checks(["chat.*"])} == {c.id for c in sdk_checks()}  # --sdk with other checks: all
    assert [c.id for c in sdk_checks(["sdk.google.*"])] == ["sdk.google.generate-content",
                                                             "sdk.google.generate-content-stream"]


@pytest.mark.slow
def test_the_suite_runs_through_the_cli_into_results_json(tmp_path, capsys):
    report = tmp_path / "report"
    # over the reference sandbox: the deviation alone, not known by new-api's expectations
    code = main(["run", "-q", "--sdk", "--checks", "sdk.*", "--sandbox-mode", "reference",
                 "--sandbox-deviation", "errors.unknown-model-503",
                 "--report-dir", str(report)])
    assert code == 1
    record = json.loads((report / "results.json").read_text())
    schema = json.loads((spec_root() / "schemas" / "report" / "results.json").read_text())
    jsonschema.validate(record, schema)
    outcomes = {r["check_id"]: r["outcome"] for r in record["results"]}
    assert len(outcomes) == len(sdk_checks()) and all(k.startswith("sdk.") for k in outcomes)
    assert [k for k, v in outcomes.items() if v != "passed"] == ["sdk.openai.error-unknown-model"]
    assert all(r["sdk_version"] for r in record["results"])
    assert "test_sdk[sdk.openai.error-unknown-model]" in capsys.readouterr().out


def test_sdk_checks_are_skipped_on_replay(tmp_path):
    shipped = spec_root().parent / "cassettes" / "sandbox"
    assert main(["run", "-q", "--replay", str(shipped), "--sdk", "--checks", "sdk.*",
                 "--report-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    assert results and all(r["outcome"] == "skipped" and "live only" in r["message"] for r in results)


def test_suite_file_is_collected_under_suites():
    assert (Path(spec_root().parent) / "suites" / "sdk" / "test_sdk.py").is_file()


def test_no_answer_is_an_error_never_a_failure():
    import socket

    from oimi_conformance.plan import ModelInfo
    from oimi_conformance.sdk import SdkTarget

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = SdkTarget(base_url=f"http://127.0.0.1:{port}", key="sk-unused-0000", models=[ModelInfo("m", None)],
                       profile=load_profile("oimi"), timeout=2)
    checks = sdk_checks(["sdk.openai.error-bad-key", "sdk.anthropic.messages-create", "sdk.google.generate-content"])
    results = [run_sdk_check(c, target) for c in checks]
    assert [r.outcome for r in results] == ["error"] * 3
    assert all(r.message.startswith("no answer to judge") for r in results)
