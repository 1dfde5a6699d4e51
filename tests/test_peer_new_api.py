"""The real target, offline: the committed recording of new-api itself (cassettes/new-api, made by
peers/new-api/run.sh --record against a new-api built from the commit its _run.json names) judges, with
new-api's expectations and --strict-expectations, to exactly the verdict of the live run
(reports/peers/new-api-verdict.json). And the differential: the sandbox's new-api mode, the harness's model
of new-api, judged check by check against that recording."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.sandbox.server import SandboxConfig, start_sandbox
from oimi_conformance.specdir import spec_root
from oimi_conformance.target import SANDBOX_KEYS

from .peer_replay import replay

ROOT = spec_root().parent
CASSETTES = ROOT / "cassettes" / "new-api"
VERDICT = ROOT / "reports" / "peers" / "new-api-verdict.json"
_spec = importlib.util.spec_from_file_location("new_api_verdict", ROOT / "peers" / "new-api" / "verdict.py")
assert _spec is not None and _spec.loader is not None
_verdict = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_verdict)

# new-api's keys are "sk-" and 48 letters or digits (model/token.go); any such string in a cassette is a leak.
_NEW_API_KEY = re.compile(r"sk-[A-Za-z0-9]{40,}")


@pytest.fixture(scope="module")
def replayed():
    return replay(CASSETTES)


def test_new_api_recording_names_its_commit_and_is_keyless():
    meta = json.loads((CASSETTES / "_run.json").read_text())
    assert meta["target"] == "new-api" and meta["profile"] == "oimi" and meta["expectations"] == "new-api"
    peer = meta["peer"]
    assert re.fullmatch(r"[0-9a-f]{40}", peer["commit"]) and peer["version"], peer
    assert peer == json.loads(VERDICT.read_text())["peer"], "re-record: peers/new-api/run.sh --record"
    assert set(meta["key_roles"]) == {"main", "no-quota", "rate-limited", "restricted"}
    files = list(CASSETTES.rglob("*.yaml"))
    assert len(files) > 100
    for path in files:
        text = path.read_text()
        assert not _NEW_API_KEY.search(text) and "sk-sandbox-valid" not in text, path


@pytest.mark.slow
def test_new_api_replay_reproduces_the_recorded_verdict(replayed):
    record = replayed.as_dict()
    assert record["meta"]["replay"] is True and record["meta"]["requests"] == 0
    expected = json.loads(VERDICT.read_text())
    got = _verdict.verdict(record)
    assert got["counts"] == expected["counts"]
    assert got["failing"] == expected["failing"]
    assert got["sha256"] == expected["sha256"], "re-record: peers/new-api/run.sh --record"
    # the recording holds real findings of new-api, each explained by an entry of new-api's expectations
    assert sum(1 for v in got["failing"].values() if v == "xfailed") >= 20


# The models the sandbox and the recording share (claude-sandbox and gemini-sandbox exist behind new-api only).
SHARED_MODELS = ["sandbox-omni", "sandbox-embed", "sandbox-image", "sandbox-rerank"]

# (check, case, model) -> (sandbox's verdict, real new-api's verdict, why they differ). Each is a sandbox-model
# difference found by running new-api (reports/peers/new-api.md, "Differential"); fixing the sandbox removes it.
# Where the sandbox's new-api mode and the real new-api cannot agree, each named with its field and reason.
# Empty: since the sandbox drops `stream` on compact as new-api does (responses.compact-drops-stream), every
# result both runs have agrees.
KNOWN_DIFFERENCES: dict[tuple[str, str, str | None], tuple[str, str, str]] = {}


def _verdicts(results) -> dict[tuple[str, str, str | None], str]:
    """One verdict per (check, case, model), live-only checks left out; the worst outcome wins."""
    rank = ("error", "failed", "xfailed", "passed", "skipped")
    out: dict[tuple[str, str, str | None], str] = {}
    for r in results:
        if r.check_id.startswith(("sdk.", "delivery.")) or r.model not in (None, *SHARED_MODELS):
            continue
        key = (r.check_id, r.case_id, r.model)
        if key not in out or rank.index(r.outcome) < rank.index(out[key]):
            out[key] = r.outcome
    return out


@pytest.mark.slow
def test_sandbox_new_api_mode_agrees_with_the_real_new_api_check_by_check(replayed):
    with start_sandbox(SandboxConfig(mode="new-api")) as sandbox:
        config = RunConfig(base_url=sandbox.base_url, keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                           expectations=load_expectations("new-api"), models=list(SHARED_MODELS),
                           exclude_checks=["delivery.*"], strict_expectations=True)
        modelled = _verdicts(Engine(config).run().results)
    real = _verdicts(replayed.results)
    shared = modelled.keys() & real.keys()
    assert len(shared) > 400  # the comparison covers most of the suite, not a corner of it
    differences = {k: (modelled[k], real[k]) for k in shared if modelled[k] != real[k]}
    assert differences == {k: v[:2] for k, v in KNOWN_DIFFERENCES.items()}
