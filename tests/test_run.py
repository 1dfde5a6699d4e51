"""`oimi-conformance run` end to end, against real sandbox gateways on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import jsonschema
import pytest

from oimi_conformance.cli import main
from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.sandbox.app import SLOW_HEADERS_SECONDS
from oimi_conformance.sandbox.wire import STALL_SECONDS
from oimi_conformance.specdir import spec_root

VALID = "sk-sandbox-valid"


def _record(base_url: str, tmp_path, *extra: str) -> tuple[int, dict]:
    code = main(["run", "--base-url", base_url, "--api-key", VALID, "--report-dir", str(tmp_path), "-q", *extra])
    return code, json.loads((tmp_path / "results.json").read_text())


@pytest.mark.slow
def test_embedded_default_passes_and_writes_a_valid_record(tmp_path, capsys):
    code = main(["run", "--report-dir", str(tmp_path), "-q"])
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "results.json").read_text())
    schema = json.loads((spec_root() / "schemas" / "report" / "results.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(record)
    failed = [r for r in record["results"] if r["outcome"] in ("failed", "error")]
    assert failed == [], [f"{r['check_id']} {r['case_id']} {r['model']}: {r['message']}" for r in failed]
    assert code == 0
    assert record["meta"]["counts"]["passed"] > 300
    assert record["meta"]["requests"] > 20
    assert {r["endpoint"] for r in record["results"]} >= {"chat", "models", "messages", "gemini"}
    assert "endpoint" in out and "total" in out  # the terminal summary table


@pytest.mark.slow
def test_every_failure_is_a_diagnosis(deviant_sandbox, tmp_path, capsys):
    sandbox = deviant_sandbox("chat.usage-arithmetic")
    code, record = _record(sandbox.base_url, tmp_path, "--checks", "chat.usage-arithmetic")
    out = capsys.readouterr().out
    assert code == 1
    failed = [r for r in record["results"] if r["outcome"] == "failed"]
    assert failed and all(r["model"] and r["auth"] and r["spec"] and r["exchange"] for r in failed)
    assert "does not add up" in failed[0]["message"]
    exchanges = json.loads((tmp_path / "exchanges.json").read_text())
    assert failed[0]["exchange"] in exchanges
    # the terminal shows the rule, the redacted request and response, and a command to reproduce
    assert "chat.usage-arithmetic" in out and "reproduce" in out and "Bearer REDACTED" in out


def test_unreachable_base_url_is_one_line_exit_2(capsys):
    code = main(["run", "--base-url", "http://127.0.0.1:9", "--api-key", VALID, "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unreachable" in err and "Traceback" not in err
    assert VALID not in err


def test_refused_key_is_exit_2(sandbox, capsys):
    code = main(["run", "--base-url", sandbox.base_url, "--api-key", "sk-not-a-key-123456", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "refused" in err and "sk-not-a-key-123456" not in err


def test_bad_profile_is_a_usage_error(capsys):
    assert main(["run", "--profile", "no-such-profile", "-q"]) == 2
    assert "unknown profile" in capsys.readouterr().err


@pytest.mark.slow
def test_key_never_leaks_even_when_the_gateway_echoes_it(deviant_sandbox, tmp_path, capfd):
    sandbox = deviant_sandbox("auth.echo-key")
    code, _ = _record(sandbox.base_url, tmp_path, "--no-quota-key", "sk-sandbox-noquota")
    out, err = capfd.readouterr()
    assert code == 1
    record = json.loads((tmp_path / "results.json").read_text())
    echoed = [r for r in record["results"] if r["check_id"] == "auth.key-not-echoed" and r["outcome"] == "failed"]
    assert echoed, "the echo deviation must be caught"
    for path in tmp_path.iterdir():
        text = path.read_text()
        assert VALID not in text and "sk-sandbox-noquota" not in text, path.name
    assert VALID not in out + err and "sk-sandbox-noquota" not in out + err


@pytest.mark.slow
def test_budget_is_a_hard_limit(sandbox, tmp_path, capsys):
    code, record = _record(sandbox.base_url, tmp_path, "--max-requests", "10", "--models", "sandbox-omni")
    assert record["meta"]["requests"] <= 10
    cut = [r for r in record["results"] if r["outcome"] == "skipped" and "budget" in r["message"]]
    judged = [r for r in record["results"] if r["outcome"] != "skipped"]
    assert cut and judged and code == 0  # green for what it judged...
    assert f"not judged: {len(cut)} result(s) skipped: request budget (--max-requests 10) exhausted" \
        in capsys.readouterr().out  # ...and it says what it left out


@pytest.mark.slow
def test_a_run_whose_budget_left_nothing_judged_does_not_pass(sandbox, tmp_path, capsys):
    # the budget is spent on the discovery: every case run is skipped, and a gate that judged nothing fails
    code, record = _record(sandbox.base_url, tmp_path, "--max-requests", "1")
    assert {r["outcome"] for r in record["results"]} == {"skipped"}
    assert code == 1
    assert "nothing was judged: all" in capsys.readouterr().out


@pytest.mark.parametrize("deviation", ["robustness.slow-headers", "delivery.stall", "delivery.truncated",
                                       "robustness.invalid-utf8", "robustness.html-200", "robustness.reset",
                                       "robustness.huge-body"])
@pytest.mark.slow
def test_hostile_answers_become_findings_within_bounded_time(deviant_sandbox, tmp_path, deviation):
    sandbox = deviant_sandbox(deviation)
    config = RunConfig(base_url=sandbox.base_url, keys={"main": VALID}, profile=load_profile("oimi"),
                       expectations=load_expectations(None), models=["sandbox-omni"], timeout=1.0,
                       cases=["chat.basic", "chat.stream", "models.list"], concurrency=4)
    start = time.monotonic()
    record = Engine(config).run()
    # not a speed margin: the sandbox holds a stalled answer (or its headers) for 60 s, so a run that ended
    # sooner cut it itself, by its own limits (timeout=1.0: at most 4 s an exchange)
    assert time.monotonic() - start < min(STALL_SECONDS, SLOW_HEADERS_SECONDS)
    outcomes = {r["outcome"] for r in [x.as_dict() for x in record.results]}
    assert outcomes & {"failed", "error"}, f"{deviation} went unnoticed"
    assert not any(r.message.startswith("internal error") for r in record.results)


@pytest.mark.slow
def test_pytest_suites_directly(sandbox, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "suites/test_chat.py", "-q", "-p", "no:cacheprovider",
                           "--base-url", sandbox.base_url, "--api-key", VALID, "--models", "sandbox-omni",
                           "--report-dir", str(tmp_path), "--checks", "chat.*"],
                          capture_output=True, text=True, timeout=120, cwd=spec_root().parent)
    assert proc.returncode == 0, proc.stdout[-3000:]
    record = json.loads((tmp_path / "results.json").read_text())
    assert {r["check_id"].split(".")[0] for r in record["results"]} == {"chat"}
    assert VALID not in proc.stdout + proc.stderr
