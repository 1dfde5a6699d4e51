"""`oimi-conformance fuzz`: schemathesis fuzzing of specs/openapi.yaml against real sandboxes on loopback.

With a fixed seed and a bounded number of cases: the faithful sandbox gives no finding; a sandbox that answers
500 or an HTML page to bad input, accepts bad input with 200, or echoes the presented key fails the matching
fuzz check; the key never reaches the output or the reports; the same seed gives the same findings.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

from oimi_conformance.cli import main
from oimi_conformance.fuzz import plugin
from oimi_conformance.fuzz.checks import CANARY_KEY, CHECK_IDS, NEGATIVE_CHECKS
from oimi_conformance.fuzz.settings import FuzzOptions, FuzzTarget, schemathesis_config
from oimi_conformance.specdir import spec_root

KEY = "sk-sandbox-valid"
OPERATIONS = "createChatCompletion,createEmbedding"
SUITE = Path(__file__).resolve().parents[1] / "suites" / "fuzz"
SPECS = spec_root()


def fuzz(capsys: pytest.CaptureFixture[str], report: Path, base_url: str, *extra: str,
         operations: str = OPERATIONS) -> dict[str, Any]:
    code = main(["fuzz", "--base-url", base_url, "--api-key", KEY, "--operations", operations, "--seed", "1",
                 "--max-examples", "20", "--report-dir", str(report), "-q", *extra])
    out, err = capsys.readouterr()
    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    exchanges = json.loads((report / "exchanges.json").read_text(encoding="utf-8"))
    for blob in (out, err, json.dumps(results), json.dumps(exchanges)):
        assert KEY not in blob
    failed = sorted((r["check_id"], r["operation"]) for r in results["results"] if r["outcome"] == "failed")
    return {"code": code, "out": out, "results": results, "exchanges": exchanges, "failed": failed}


@pytest.mark.slow
def test_faithful_sandbox_has_no_finding(sandbox, tmp_path, capsys) -> None:
    run = fuzz(capsys, tmp_path, sandbox.base_url)
    assert run["code"] == 0 and run["failed"] == [], run["out"]
    results = run["results"]["results"]
    assert {r["check_id"] for r in results} == {CHECK_IDS[c] for c in NEGATIVE_CHECKS}
    assert {r["case_id"] for r in results} == {"fuzz.createChatCompletion", "fuzz.createEmbedding"}
    judged = [r for r in results if r["check_id"] == "fuzz.negative-is-4xx"]
    assert all(r["outcome"] == "passed" and "judged" in r["message"] for r in judged)
    jsonschema.Draft202012Validator(json.loads((SPECS / "schemas/report/results.json").read_text())).validate(
        run["results"])
    meta = run["results"]["meta"]
    assert meta["fuzz"]["mode"] == "negative" and meta["fuzz"]["seed"] == 1
    # every generated case, one wrong-key probe per operation and the model listing
    assert meta["requests"] == meta["fuzz"]["cases"] + 2 + 1 and meta["fuzz"]["cases"] >= 30


@pytest.mark.slow
def test_every_operation_is_fuzzed_on_the_faithful_sandbox(sandbox, tmp_path, capsys) -> None:
    """What the README says CI fuzzes: all of specs/openapi.yaml's operations, a small budget each."""
    import yaml

    spec = yaml.safe_load((SPECS / "openapi.yaml").read_text(encoding="utf-8"))
    operations = sorted(op["operationId"] for path in spec["paths"].values() for op in path.values()
                        if isinstance(op, dict) and "operationId" in op)
    assert len(operations) == 12
    run = fuzz(capsys, tmp_path, sandbox.base_url, "--max-examples", "3", operations=",".join(operations))
    assert run["code"] == 0 and run["failed"] == [], run["out"]
    results = run["results"]["results"]
    assert {r["case_id"] for r in results} == {f"fuzz.{op}" for op in operations}
    judged = {r["case_id"] for r in results if r["check_id"] == "fuzz.negative-is-4xx" and r["outcome"] == "passed"}
    assert len(judged) >= 10, judged  # the operations with something to make invalid


DEVIATIONS = {
    "errors.server-error-on-bad-input": ("fuzz.negative-is-4xx", "Server error on invalid input (HTTP 500)"),
    "errors.html-body": ("fuzz.json-content-type", "Error answered with an HTML page"),
    "errors.accepts-invalid-input": ("fuzz.negative-is-4xx", "Accepted invalid input (HTTP 200)"),
    "auth.echo-key": ("fuzz.key-not-echoed", "Wrong key echoed in the refusal"),
    "auth.accept-any-key": ("fuzz.wrong-key-refused", "Never-issued key not refused (HTTP 400)"),
}


@pytest.mark.slow
def test_each_deviation_fails_its_fuzz_check_with_a_redacted_minimal_reproduction(deviant_sandbox, tmp_path,
                                                                                 capsys) -> None:
    gateway = deviant_sandbox()
    for deviation, (check_id, title) in DEVIATIONS.items():
        gateway.set_deviations([deviation])
        run = fuzz(capsys, tmp_path / deviation, gateway.base_url, operations="createEmbedding")
        assert run["code"] == 1, deviation
        assert run["failed"] == [(check_id, "createEmbedding")], deviation  # only the matching check
        result = next(r for r in run["results"]["results"] if r["check_id"] == check_id and r["outcome"] == "failed")
        assert result["message"].startswith(title), result["message"]
        exchange = run["exchanges"][result["exchange"]]
        assert exchange["curl"].startswith("curl ") and title in run["out"] and "reproduce" in run["out"]
        if deviation == "auth.echo-key":  # the probe's wrong key is no secret: the finding shows it echoed
            assert CANARY_KEY in exchange["body"] and CANARY_KEY in exchange["curl"]
        elif deviation == "auth.accept-any-key":  # the evidence is the probe, sent with the never-issued key
            assert CANARY_KEY in exchange["curl"]
        else:
            assert "Bearer REDACTED" in exchange["curl"]


@pytest.mark.slow
def test_a_gateway_echoing_the_runs_own_key_never_gets_it_into_any_output(deviant_sandbox, tmp_path,
                                                                         capfd) -> None:
    secret = "sk-oimi-fuzz-test-secret-0123456789"  # unknown to the sandbox, which echoes it in every 401
    gateway = deviant_sandbox("auth.echo-key")
    code = main(["fuzz", "--base-url", gateway.base_url, "--api-key", secret, "--models", "sandbox-embed",
                 "--operations", "createEmbedding", "--max-examples", "5", "--report-dir", str(tmp_path),
                 "--alluredir", str(tmp_path / "allure-results")])
    out, err = capfd.readouterr()
    assert code == 1 and "Key echoed in the answer" in out
    assert secret not in out + err
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"results.json", "exchanges.json", "report.html", "junit.xml"} <= {p.name for p in files}
    assert any(p.parent.name == "allure-results" for p in files)
    for path in files:
        assert secret.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_same_seed_same_cases_and_findings(deviant_sandbox, tmp_path, capsys) -> None:
    gateway = deviant_sandbox("errors.server-error-on-bad-input")
    first, second = (fuzz(capsys, tmp_path / name, gateway.base_url, "--max-examples", "10",
                          operations="createEmbedding") for name in ("first", "second"))

    def stable(run: dict[str, Any]) -> Any:
        exchanges = [(e["method"], e["url"].split("/", 3)[-1], e["request_body"], e["status"])
                     for e in run["exchanges"].values()]
        results = [(r["check_id"], r["case_id"], r["outcome"], r["message"]) for r in run["results"]["results"]]
        return run["results"]["meta"]["fuzz"]["cases"], sorted(exchanges), results

    assert first["failed"] and stable(first) == stable(second)


@pytest.mark.slow
def test_positive_mode_stays_within_the_budget_and_judges_bodies(deviant_sandbox, tmp_path, capsys) -> None:
    gateway = deviant_sandbox("chat.bad-finish-reason")
    run = fuzz(capsys, tmp_path, gateway.base_url, "--positive", "--max-requests", "12", "--operations",
               "createChatCompletion")
    meta = run["results"]["meta"]
    assert meta["requests"] <= 12 and meta["max_requests"] == 12
    assert run["failed"] == [("fuzz.body-conforms", "createChatCompletion")]
    exchange = run["exchanges"]["fuzz.body-conforms@fuzz.createChatCompletion"]
    body = json.loads(exchange["request_body"])
    assert body["max_tokens"] == 16 and body["max_completion_tokens"] == 16 and body["n"] == 1  # pinned tiny


@pytest.mark.slow
def test_a_fuzz_run_whose_budget_left_nothing_judged_does_not_pass(sandbox, tmp_path, capsys) -> None:
    # the one request goes to the model listing: no case is sent, every result is skipped, and that is no pass
    run = fuzz(capsys, tmp_path, sandbox.base_url, "--max-requests", "1")
    assert {r["outcome"] for r in run["results"]["results"]} == {"skipped"}
    assert run["code"] == 1
    assert "nothing was judged: all" in run["out"] and "request budget (--max-requests 1) exhausted" in run["out"]


def test_the_configuration_uses_schemathesis_auth_per_security_scheme() -> None:
    config = schemathesis_config(FuzzTarget("http://127.0.0.1:1", "sk-x", {"createChatCompletion": "m"}),
                                 FuzzOptions(), ["createChatCompletion", "listModels"])
    assert config["auth"]["openapi"] == {"bearerAuth": {"bearer": "sk-x"}, "anthropicKey": {"api_key": "sk-x"},
                                         "googApiKey": {"api_key": "sk-x"}, "googQueryKey": {"api_key": "sk-x"}}
    assert "headers" not in config  # never a credential added by hand
    assert config["generation"]["mode"] == "negative" and config["seed"] == 1
    chat = next(o for o in config["operations"] if o["include-operation-id"] == "createChatCompletion")
    assert chat["parameters"]["body.model"] == "m" and chat["parameters"]["body.max_tokens"] == 16
    assert FuzzOptions(positive=True).max_requests == 50  # positive mode is never unbounded


def test_fuzz_suite_is_collected_only_when_named(tmp_path) -> None:
    def config(*args: str) -> Any:
        return SimpleNamespace(args=list(args), invocation_params=SimpleNamespace(dir=SUITE.parents[1]))

    test_file = SUITE / "test_fuzz.py"
    assert plugin.ignore_collect(test_file, config("suites"), SUITE) is True  # `oimi-conformance run`
    assert plugin.ignore_collect(test_file, config("suites", "suites/fuzz"), SUITE) is None
    assert plugin.ignore_collect(test_file, config(str(SUITE)), SUITE) is None  # `oimi-conformance fuzz`
    assert plugin.ignore_collect(test_file, config("suites/fuzz/test_fuzz.py::test_fuzz"), SUITE) is None
    assert plugin.ignore_collect(SUITE.parent / "test_http.py", config("suites"), SUITE) is None
