"""A real third-party gateway, offline: the committed recording of LiteLLM's proxy (cassettes/litellm,
made by peers/litellm/run.sh --record) judges, with LiteLLM's expectations and --strict-expectations, to
exactly the verdict of the live run (reports/peers/litellm-verdict.json). And the strictness itself:
an expected failure that passes fails the run."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.specdir import spec_root
from oimi_conformance.target import SANDBOX_KEYS

from .peer_replay import replay

ROOT = spec_root().parent
CASSETTES = ROOT / "cassettes" / "litellm"
VERDICT = ROOT / "reports" / "peers" / "litellm-verdict.json"
_spec = importlib.util.spec_from_file_location("replay_verdict", ROOT / "peers" / "replay_verdict.py")
_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_report)
LIVE_ONLY, verdict, verdict_key = _report.LIVE_ONLY, _report.verdict, _report.verdict_key


@pytest.fixture(scope="module")
def replayed():
    return replay(CASSETTES, "openai-compatible")


def test_litellm_recording_is_complete_and_keyless():
    meta = json.loads((CASSETTES / "_run.json").read_text())
    assert meta["target"] == "litellm" and meta["expectations"] == "litellm"
    assert meta["profile"] == "openai-compatible" and len(meta["models"]) == 6
    files = list(CASSETTES.rglob("*.yaml"))
    assert len(files) > 60
    for path in files:
        text = path.read_text()
        assert "sk-litellm-conformance" not in text and "sk-sandbox-valid" not in text, path


@pytest.mark.slow
def test_litellm_replay_reproduces_the_recorded_verdict(replayed):
    record = replayed.as_dict()
    assert record["meta"]["replay"] is True and record["meta"]["requests"] == 0
    assert not replayed.failed, [f"{r.check_id} {r.case_id} {r.model}: {r.message}" for r in replayed.results
                                 if r.outcome in ("failed", "error")][:10]
    expected = json.loads(VERDICT.read_text())
    got = verdict(record)
    assert got["counts"] == expected["counts"]
    assert got["failing"] == expected["failing"]
    assert got["sha256"] == expected["sha256"], "re-record: peers/litellm/run.sh --record"
    assert sum(1 for v in got["failing"].values() if v == "xfailed") >= 50  # real findings, all explained


@pytest.mark.slow
def test_every_litellm_expectation_is_used(replayed):
    """An entry that no result matches is stale: the recording and the expectations file disagree."""
    expectations = load_expectations("litellm")
    used = {id(expectations.find(r.check_id, r.case_id, r.model)) for r in replayed.results
            if r.outcome == "xfailed"}
    unused = [item.reason[:80] for item in expectations.items if id(item) not in used]
    assert unused == []
    assert all(item.reason.endswith(".") and len(item.reason) > 40 for item in expectations.items)


def test_verdict_keys_ignore_what_only_a_live_run_has():
    record = {"results": [{"check_id": "sdk.openai.chat-create", "case_id": "sdk.openai", "model": "m",
                           "outcome": "failed"},
                          {"check_id": "delivery.incremental", "case_id": "chat.stream", "model": "m",
                           "outcome": "failed"},
                          {"check_id": "chat.basic", "case_id": "chat.basic", "model": None, "outcome": "passed"}]}
    got = verdict(record)
    assert got["counts"] == {"passed": 1} and got["failing"] == {}
    assert got["sha256"] == hashlib.sha256(b"chat.basic chat.basic - passed").hexdigest()
    assert LIVE_ONLY == ("sdk.", "delivery.") and verdict_key(record["results"][2]) == "chat.basic chat.basic -"


def _strict_run(base_url: str, tmp_path: Path, strict: bool):
    expectations = tmp_path / "target.toml"
    expectations.write_text('[[expected_failure]]\ncheck = "http.expected-status"\ncase = "chat.basic"\n'
                            'model = ["sandbox-omni", "sandbox-chat"]\nreason = "it used to fail."\n\n'
                            '[[expected_failure]]\ncheck = "chat.usage-arithmetic"\ncase = "chat.basic"\n'
                            'reason = "no usage object."\n')
    config = RunConfig(base_url=base_url, keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                       expectations=load_expectations(str(expectations)), cases=["chat.basic", "models.list"],
                       models=["sandbox-omni"], checks=["http.expected-status", "chat.usage-arithmetic"],
                       strict_expectations=strict)
    return {r.check_id: r for r in Engine(config).run().results if r.case_id == "chat.basic"}


def test_strict_expectations_fail_an_expected_failure_that_passes(deviant_sandbox, tmp_path):
    sandbox = deviant_sandbox("chat.usage-missing")
    lenient = _strict_run(sandbox.base_url, tmp_path, strict=False)
    assert lenient["http.expected-status"].outcome == "passed" and lenient["chat.usage-arithmetic"].outcome == "xfailed"
    strict = _strict_run(sandbox.base_url, tmp_path, strict=True)
    assert strict["chat.usage-arithmetic"].outcome == "xfailed"  # still failing as listed: fine
    changed = strict["http.expected-status"]
    assert changed.outcome == "failed"
    assert changed.message.startswith(f"expected failure now passes: update {tmp_path / 'target.toml'}")
    assert "model=['sandbox-omni', 'sandbox-chat']" in changed.message and "it used to fail." in changed.message
