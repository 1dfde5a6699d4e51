"""The real target, offline: the committed recording of new-api itself (cassettes/new-api, made by
peers/new-api/run.sh --record against a new-api built from the commit its _run.json names) judges, with
new-api's expectations and --strict-expectations, to exactly the verdict of the live run
(reports/peers/new-api-verdict.json)."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from oimi_conformance.engine import Engine
from oimi_conformance.session import Options, Target
from oimi_conformance.specdir import spec_root

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
    options = Options(record_mode="none", cassette_dir=str(CASSETTES), strict_expectations=True)
    target = Target(options)
    config = target.__enter__()
    try:
        return Engine(config).run()
    finally:
        target.__exit__()


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
