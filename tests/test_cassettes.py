"""Cassettes: record once from a real sandbox, replay offline with the same verdict, never hold a key."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from oimi_conformance.cassettes import CassetteLeak, cassette_path, guard, network_blocked, write_cassette
from oimi_conformance.cli import main
from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.exchange import Exchange
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.specdir import spec_root
from oimi_conformance.target import SANDBOX_KEYS

SHIPPED = spec_root().parent / "cassettes" / "sandbox"


def _outcomes(results_json: Path) -> dict[tuple[str, str, str], str]:
    record = json.loads(results_json.read_text())
    return {(r["check_id"], r["case_id"], r["model"] or ""): r["outcome"] for r in record["results"]}


def _config(base_url: str, mode: str, folder: Path, **kw) -> RunConfig:
    return RunConfig(base_url=base_url, keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                     expectations=load_expectations("sandbox"), record_mode=mode, cassette_dir=folder, **kw)


@pytest.mark.slow
def test_replay_verdict_equals_live_verdict(tmp_path):
    cassettes = tmp_path / "cassettes"
    live_dir = str(tmp_path / "live")
    assert main(["run", "-q", "--record", "--cassette-dir", str(cassettes), "--report-dir", live_dir]) == 0
    assert main(["run", "-q", "--replay", str(cassettes), "--report-dir", str(tmp_path / "replay")]) == 0
    live, replay = _outcomes(tmp_path / "live" / "results.json"), _outcomes(tmp_path / "replay" / "results.json")
    assert live.keys() == replay.keys()
    differ = {k: (live[k], replay[k]) for k in live if live[k] != replay[k]}
    assert differ and all(k[0].startswith("delivery.") and v[1] == "skipped" for k, v in differ.items())
    meta = json.loads((tmp_path / "replay" / "results.json").read_text())["meta"]
    assert meta["replay"] is True and meta["requests"] == 0


@pytest.mark.slow
def test_shipped_cassettes_replay_to_the_live_verdict(tmp_path):
    """CI's offline regression: the committed cassettes/sandbox judge as the embedded sandbox does live."""
    assert SHIPPED.is_dir(), "re-record with: oimi-conformance run --record"
    assert main(["run", "-q", "--replay", str(SHIPPED), "--report-dir", str(tmp_path / "replay")]) == 0
    assert main(["run", "-q", "--report-dir", str(tmp_path / "live")]) == 0
    live, replay = _outcomes(tmp_path / "live" / "results.json"), _outcomes(tmp_path / "replay" / "results.json")
    assert live.keys() == replay.keys(), "the shipped cassettes are stale: oimi-conformance run --record"
    assert all(live[k] == replay[k] or (k[0].startswith("delivery.") and replay[k] == "skipped") for k in live)


def test_every_cassette_loads_in_vcrpy_and_holds_no_key():
    files = sorted(SHIPPED.rglob("*.yaml"))
    assert len(files) > 100
    for path in files:
        requests, responses = FilesystemPersister.load_cassette(str(path), yamlserializer)
        assert requests and len(requests) == len(responses)
        text = path.read_text()
        assert not any(key in text for key in SANDBOX_KEYS.values()), path
        assert "set-cookie" not in text.lower()


def test_layout_finds_the_cassette_of_a_check():
    assert cassette_path(Path("c"), "chat.basic/sandbox-omni/main") == Path("c/chat.basic/sandbox-omni.yaml")
    assert cassette_path(Path("c"), "models.list/-/main") == Path("c/models.list/_.yaml")
    assert (SHIPPED / "chat.stream" / "sandbox-omni.yaml").is_file()


def test_stream_bytes_are_kept_exactly(sandbox, tmp_path):
    engine = Engine(_config(sandbox.base_url, "all", tmp_path, cases=["chat.stream", "models.list"],
                            models=["sandbox-omni"]))
    engine.run()
    live = next(e for r in engine.runs for e in r.exchanges.values() if r.case.id == "chat.stream")
    _, responses = FilesystemPersister.load_cassette(str(tmp_path / "chat.stream" / "sandbox-omni.yaml"),
                                                             yamlserializer)
    assert responses[0]["body"]["string"] == live.body
    assert b": PING" in live.body and b"data: [DONE]" in live.body


def test_invalid_utf8_stream_survives_the_round_trip(deviant_sandbox, tmp_path):
    sandbox = deviant_sandbox("robustness.invalid-utf8")
    kw = {"cases": ["chat.stream", "models.list"], "models": ["sandbox-omni"], "checks": ["chat.stream.framing"]}
    live = Engine(_config(sandbox.base_url, "all", tmp_path, **kw)).run()
    replay = Engine(_config("http://replay.invalid", "none", tmp_path, **kw)).run()
    for record in (live, replay):
        [result] = [r for r in record.results if r.case_id == "chat.stream"]
        assert result.outcome == "failed" and "invalid-utf8" in result.message


def test_missing_exchange_fails_naming_it_and_how_to_record(tmp_path):
    (tmp_path / "models.list").mkdir(parents=True)
    shipped = SHIPPED / "models.list" / "_.yaml"
    (tmp_path / "models.list" / "_.yaml").write_bytes(shipped.read_bytes())
    record = Engine(_config("http://replay.invalid", "none", tmp_path, cases=["chat.basic", "models.list"],
                            models=["sandbox-omni"])).run()
    missing = [r for r in record.results if r.case_id == "chat.basic"]
    assert missing and all(r.outcome == "failed" for r in missing)
    assert "hold no POST" in missing[0].message and "chat.basic/sandbox-omni/main" in missing[0].message
    assert "--record-mode new_episodes" in missing[0].message
    assert record.meta["requests"] == 0


def test_new_episodes_records_only_what_is_missing(sandbox, tmp_path):
    kw = {"models": ["sandbox-omni"]}
    Engine(_config(sandbox.base_url, "all", tmp_path, cases=["models.list", "chat.basic"], **kw)).run()
    engine = Engine(_config(sandbox.base_url, "new_episodes", tmp_path, cases=["models.list", "chat.*"], **kw))
    record = engine.run()
    assert (tmp_path / "chat.n" / "sandbox-omni.yaml").is_file()
    sent_live = record.meta["requests"]
    assert 0 < sent_live < record.meta["exchanges"]


def test_network_is_blocked_during_replay():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        with network_blocked(), pytest.raises(OSError, match="blocked"):
            socket.create_connection(listener.getsockname(), 1)
        socket.create_connection(listener.getsockname(), 1).close()  # restored afterwards
    finally:
        listener.close()


def test_guard_refuses_a_cassette_holding_a_key_in_any_form(tmp_path):
    key = "sk-guard-test-0123456789"
    for n, form in enumerate([key, base64.b64encode(key.encode()).decode(), f"prefix{key}suffix"]):
        leaky = Exchange(id=f"c/m/{n}", method="POST", url="http://127.0.0.1/v1/x", request_headers={},
                         request_body=b"{}", status=200, response_headers={"content-type": "application/json"},
                         body=json.dumps({"echo": form}).encode())
        path = tmp_path / f"leak{n}.yaml"
        write_cassette(path, [leaky])
        with pytest.raises(CassetteLeak, match="deleted"):
            guard([path], [key])
        assert not path.exists()


def test_echoing_gateway_leaves_no_key_in_cassettes(deviant_sandbox, tmp_path):
    sandbox = deviant_sandbox("auth.echo-key")
    record = Engine(_config(sandbox.base_url, "all", tmp_path, cases=["auth.*", "models.list"])).run()
    assert any(r.check_id == "auth.key-not-echoed" and r.outcome == "failed" for r in record.results)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert not any(k in path.read_text() for k in SANDBOX_KEYS.values()), path


@pytest.mark.slow
def test_pytest_record_mode_none_replays(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "pytest", "suites/test_chat.py", "-q", "-p", "no:cacheprovider",
                           "--record-mode", "none", "--cassette-dir", str(SHIPPED), "--report-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=spec_root().parent)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert json.loads((tmp_path / "results.json").read_text())["meta"]["replay"] is True
