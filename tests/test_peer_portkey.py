"""Portkey's AI gateway, offline: the committed recording (cassettes/portkey, made by peers/portkey/run.sh
--record, with the x-portkey-config header the run sent) judges, with Portkey's expectations and
--strict-expectations, to exactly the verdict of the live run (reports/peers/portkey-verdict.json). And the
standard both peers' expectations files meet: every entry is used, and cites an official reference."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from oimi_conformance.profile import load_expectations
from oimi_conformance.specdir import spec_root

from .peer_replay import replay

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = spec_root().parent
CASSETTES = ROOT / "cassettes" / "portkey"
VERDICT = ROOT / "reports" / "peers" / "portkey-verdict.json"
_spec = importlib.util.spec_from_file_location("portkey_peer_report", ROOT / "peers" / "portkey" / "report.py")
_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_report)


@pytest.fixture(scope="module")
def replayed():
    return replay(CASSETTES, "openai-compatible")


def test_portkey_recording_sends_its_config_header_and_holds_no_key():
    meta = json.loads((CASSETTES / "_run.json").read_text())
    assert meta["target"] == "portkey" and meta["expectations"] == "portkey"
    assert meta["profile"] == "openai-compatible"
    config = json.loads(meta["headers"]["x-portkey-config"])
    assert config["strategy"]["mode"] == "conditional" and {t["name"] for t in config["targets"]} == {"anthropic",
                                                                                                      "openai"}
    files = list(CASSETTES.rglob("*.yaml"))
    assert len(files) > 60
    for path in files:
        text = path.read_text()
        assert "sk-sandbox-valid" not in text, path
        assert "x-portkey-config" in text, path  # every request carried the routing header


@pytest.mark.slow
def test_portkey_replay_reproduces_the_recorded_verdict(replayed):
    record = replayed.as_dict()
    assert record["meta"]["replay"] is True and record["meta"]["requests"] == 0
    assert not replayed.failed, [f"{r.check_id} {r.case_id} {r.model}: {r.message}" for r in replayed.results
                                 if r.outcome in ("failed", "error")][:10]
    expected = json.loads(VERDICT.read_text())
    got = _report.verdict(record)
    assert got["counts"] == expected["counts"] and got["failing"] == expected["failing"]
    assert got["sha256"] == expected["sha256"], "re-record: peers/portkey/run.sh --record"
    assert sum(1 for v in got["failing"].values() if v == "xfailed") >= 15


@pytest.mark.slow
def test_every_portkey_expectation_is_used(replayed):
    expectations = load_expectations("portkey")
    used = {id(expectations.find(r.check_id, r.case_id, r.model)) for r in replayed.results
            if r.outcome == "xfailed"}
    assert [item.reason[:80] for item in expectations.items if id(item) not in used] == []


@pytest.mark.parametrize("peer", ["litellm", "portkey"])
def test_every_peer_expectation_cites_an_official_reference(peer):
    data = tomllib.loads((spec_root() / "expectations" / f"{peer}.toml").read_text(encoding="utf-8"))
    official = ("https://platform.openai.com/", "https://docs.anthropic.com/", "https://ai.google.dev/",
                "https://jina.ai/", "https://www.rfc-editor.org/")
    for entry in data["expected_failure"]:
        assert entry["reason"].endswith(".") and len(entry["reason"]) > 40
        assert entry.get("reference", "").startswith(official), entry["reason"]
        assert entry.get("link", "https://github.com/").startswith("https://github.com/"), entry["reason"]


@pytest.mark.slow
def test_rules_are_judged_by_their_source_and_a_missing_route_is_no_auth_failure(replayed):
    """The audit's findings, as the replay of both peers shows them: a missing Gemini route is an unsupported
    capability (skipped by the auth checks, a deviation of the route itself), and the envelope of an
    undocumented route is an Oimi-only rule, not judged under openai-compatible."""
    by_key = {(r.check_id, r.case_id): r for r in replayed.results}
    missing = by_key[("auth.documented-style-accepted", "auth.gemini.x-goog-api-key")]
    assert missing.outcome == "skipped" and missing.message.startswith("unsupported capability")
    assert by_key[("http.expected-status", "gemini.basic")].outcome == "xfailed"
    undocumented = by_key[("errors.envelope", "errors.unknown-route")]
    assert undocumented.outcome == "skipped" and "only the Oimi reference" in undocumented.message


def test_basic_scheme_counts_only_where_the_oimi_rules_do(deviant_sandbox):
    from oimi_conformance.engine import Engine, RunConfig
    from oimi_conformance.profile import load_profile
    from oimi_conformance.target import SANDBOX_KEYS

    sandbox = deviant_sandbox("auth.accept-any-key")
    outcomes = {}
    for profile in ("oimi", "openai-compatible"):
        config = RunConfig(base_url=sandbox.base_url, keys=dict(SANDBOX_KEYS), profile=load_profile(profile),
                           cases=["auth.chat.wrong-scheme", "auth.chat.wrong-key"], models=["sandbox-omni"],
                           checks=["auth.invalid-credential-refused"])
        outcomes[profile] = {r.case_id: r for r in Engine(config).run().results}
    assert outcomes["oimi"]["auth.chat.wrong-scheme"].outcome == "failed"
    assert outcomes["openai-compatible"]["auth.chat.wrong-scheme"].outcome == "skipped"
    assert "oimi reference only" in outcomes["openai-compatible"]["auth.chat.wrong-scheme"].message
    # an official rule is judged under both
    assert {outcomes[p]["auth.chat.wrong-key"].outcome for p in outcomes} == {"failed"}
