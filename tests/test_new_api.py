"""Issue 10: green on a healthy Oimi. The embedded sandbox's default mode behaves as new-api does (each
behaviour cited in docs/new-api-behaviour.md), the `oimi` profile knows new-api's by-design deviations
(specs/expectations/new-api.toml) and shows them as xfailed with their source, the strict profiles still
fail them, and what users of a new-api gateway hit is judged and diagnosed."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import httpx
import pytest

from oimi_conformance.cli import main
from oimi_conformance.discovery import fold_compact_aliases
from oimi_conformance.plan import api_root, join_url
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.sandbox.server import SandboxConfig, start_sandbox

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
NEW_API_TOML = ROOT / "specs" / "expectations" / "new-api.toml"
BEHAVIOUR_DOC = ROOT / "docs" / "new-api-behaviour.md"
VALID = "sk-sandbox-valid"


@pytest.fixture(scope="module")
def new_api():
    """The sandbox as users of Oimi meet it: its default mode, new-api."""
    with start_sandbox(SandboxConfig()) as running:
        yield running


def _run(tmp_path: Path, *args: str) -> tuple[int, dict]:
    code = main(["run", "--report-dir", str(tmp_path), "-q", *args])
    return code, json.loads((tmp_path / "results.json").read_text())


def _by_outcome(record: dict, outcome: str) -> list[dict]:
    return [r for r in record["results"] if r["outcome"] == outcome]


# -- the default run is green, and every known behaviour is shown with its citation ---------------------

@pytest.mark.slow
def test_embedded_default_is_new_api_green_with_cited_xfails(tmp_path):
    code, record = _run(tmp_path)
    assert code == 0, [f"{r['check_id']} {r['case_id']}: {r['message']}" for r in _by_outcome(record, "failed")]
    xfailed = _by_outcome(record, "xfailed")
    from_new_api = [r for r in xfailed if "new-api" in (r.get("expected_reason") or "") or
                    r["case_id"].startswith(("errors.", "models.", "chat.base-url"))]
    assert from_new_api, "a new-api run shows its known deviations as xfailed"
    cited = [r for r in xfailed if "new-api.toml" not in (r.get("expected_reason") or "")
             and re.search(r"\[new-api [\w/.-]+\.go", r.get("expected_reason") or "")]
    assert cited, "each new-api xfail carries its citation: the new-api file and function"
    seen = {(r["check_id"], r["case_id"]) for r in xfailed}
    for pair in [("errors.unknown-model-not-retryable", "errors.chat.unknown-model"),
                 ("gemini.json-array-framing", "gemini.stream.json-array"),
                 ("http.no-server-error", "errors.chat.missing-messages"),
                 ("http.expected-status", "errors.messages.missing-max-tokens"),
                 ("body.schema", "models.list.gemini"), ("http.expected-status", "models.retrieve.unknown"),
                 ("body.schema", "models.retrieve"), ("http.not-web-page", "chat.base-url-without-v1")]:
        assert pair in seen, f"{pair} is a known new-api behaviour and must show as xfailed"


def test_every_new_api_expectation_cites_new_api_source_and_names_its_cases():
    data = tomllib.loads(NEW_API_TOML.read_text())
    entries = data["expected_failure"]
    assert entries
    for entry in entries:
        assert re.search(r"new-api [\w/.-]+\.go[:,] ", entry["source"]), entry
        assert re.search(r"commit [0-9a-f]{40}", entry["source"]) or "commit" not in entry["source"], entry
        assert entry.get("case") not in (None, "*") and "*" not in json.dumps(entry["check"]), entry
        assert entry["reason"].strip().count(". ") == 0, f"one sentence: {entry['reason']}"


def test_the_behaviour_doc_cites_a_new_api_file_on_every_row():
    text = BEHAVIOUR_DOC.read_text()
    table = text[text.index("| behaviour |"):].split("\n\n", 1)[0]  # the main table, not the versions one
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    assert len(rows) >= 25
    for row in rows:
        assert re.search(r"`[\w/.-]+\.(go|yaml)", row), f"row without a new-api file: {row[:120]}"


def test_strict_profiles_do_not_apply_new_api_expectations(tmp_path):
    code, record = _run(tmp_path, "--profile", "strict-native", "--cases", "errors.chat.*,models.retrieve*")
    assert code == 1
    failed = {(r["check_id"], r["case_id"]) for r in _by_outcome(record, "failed")}
    assert ("http.no-server-error", "errors.chat.missing-messages") in failed
    assert ("http.expected-status", "models.retrieve.unknown") in failed
    assert load_profile("strict-native").expectations == ()
    assert load_profile("openai-compatible").expectations == ()
    assert load_profile("oimi").expectations == ("new-api",)


def test_strict_expectations_report_a_new_api_entry_that_starts_passing(tmp_path):
    # the reference mode does what the references say: every new-api entry it meets now passes
    code, record = _run(tmp_path, "--sandbox-mode", "reference", "--strict-expectations", "--expectations",
                        "new-api,sandbox", "--cases", "errors.chat.missing-messages")
    assert code == 1
    assert any("expected failure now passes" in r["message"] and "new-api.toml" in r["message"]
               for r in _by_outcome(record, "failed"))


def test_a_known_deviation_never_hides_a_new_violation_on_the_same_check():
    expectations = load_expectations("new-api")
    known = ["/models/0/baseModelId: None is not of type 'string' (schema.type)"]
    assert expectations.find("body.schema", "models.list.gemini", None, known) is not None
    unknown = [*known, "/models/0: 'name' is a required property (schema.required)"]
    assert expectations.find("body.schema", "models.list.gemini", None, unknown) is None


# -- legal under the oimi profile, a deviation under strict-native ------------------------------------------

@pytest.mark.slow
def test_no_retry_after_and_404_for_a_wrong_method_are_legal_for_oimi_and_fail_strict_native(deviant_sandbox,
                                                                                             tmp_path):
    sandbox = deviant_sandbox("errors.no-retry-after", "errors.wrong-method-404")
    base = ["--base-url", sandbox.base_url, "--api-key", VALID, "--rate-limited-key", "sk-sandbox-ratelimited",
            "--cases", "errors.rate-limited-key,errors.wrong-method", "--checks", "errors.retry-after,http.*"]
    code, record = _run(tmp_path / "oimi", *base, "--expectations", "sandbox")
    assert code == 0
    skipped = [r for r in record["results"] if r["check_id"] == "errors.retry-after"]
    assert skipped and all(r["outcome"] == "skipped" and "RFC 6585" in r["message"] for r in skipped)
    code, record = _run(tmp_path / "strict", *base, "--profile", "strict-native")
    failed = {r["check_id"] for r in _by_outcome(record, "failed")}
    assert code == 1 and {"errors.retry-after", "http.expected-status"} <= failed


def test_unrouted_client_endpoints_are_unsupported_capabilities_not_failures(tmp_path):
    code, record = _run(tmp_path, "--cases", "gateway.*")
    assert code == 0
    rows = [r for r in record["results"] if r["case_id"].startswith("gateway.")]
    assert {r["case_id"] for r in rows} == {"gateway.messages-count-tokens", "gateway.gemini-get-model",
                                           "gateway.responses-retrieve"}
    assert all(r["outcome"] == "skipped" and r["message"].startswith("unsupported") and "404" in r["message"]
               for r in rows if r["check_id"] == "http.expected-status")


# -- the base URL ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/", "/v1beta"])
def test_base_url_forms_reach_the_same_paths(suffix):
    assert api_root("https://h.example" + suffix) == "https://h.example"
    assert join_url("https://h.example" + suffix, "/v1beta/models/m:generateContent") == \
        "https://h.example/v1beta/models/m:generateContent"


@pytest.mark.slow
def test_a_trailing_v1_gives_the_same_verdicts_as_the_bare_host(new_api, tmp_path):
    def verdicts(base: str, folder: str) -> dict:
        _, record = _run(tmp_path / folder, "--base-url", base, "--api-key", VALID,
                            "--cases", "gemini.basic,gemini.stream.sse,chat.basic,messages.basic,models.list*",
                            "--expectations", "new-api,sandbox")
        return {(r["check_id"], r["case_id"], r["model"]): r["outcome"] for r in record["results"]}

    bare = verdicts(new_api.base_url, "bare")
    assert any(case.startswith("gemini") and outcome == "passed" for (_, case, _), outcome in bare.items())
    assert verdicts(new_api.base_url + "/v1", "v1") == bare
    assert verdicts(new_api.base_url + "/v1/", "v1-slash") == bare


def test_the_web_page_is_diagnosed_as_a_wrong_base_url(deviant_sandbox, tmp_path, capsys):
    sandbox = deviant_sandbox("robustness.html-fallback")
    code, record = _run(tmp_path, "--base-url", sandbox.base_url, "--api-key", VALID, "--profile", "oimi",
                        "--expectations", "sandbox", "--cases", "chat.base-url-without-v1")
    out = capsys.readouterr().out
    assert code == 1
    web = [r for r in _by_outcome(record, "failed") if r["check_id"] == "http.not-web-page"]
    assert web and "check the base URL" in web[0]["message"]
    assert "this is the gateway's web page" in out and "hint:" in out


# -- streams, request ids, credentials, compact ----------------------------------------------------------

def test_an_error_after_a_200_stream_began_is_named_as_such(deviant_sandbox, tmp_path):
    sandbox = deviant_sandbox("chat.stream.error-after-start")
    code, record = _run(tmp_path, "--base-url", sandbox.base_url, "--api-key", VALID, "--expectations", "sandbox",
                        "--cases", "chat.stream", "--checks", "stream.*")
    failed = _by_outcome(record, "failed")
    assert code == 1 and failed
    assert all("appended to the stream" in r["message"] and "upstream stream broke off" in r["message"]
               for r in failed)


@pytest.mark.slow
def test_request_ids_are_recorded_and_shown_and_their_absence_is_a_warning(deviant_sandbox, tmp_path, capsys):
    sandbox = deviant_sandbox("chat.usage-arithmetic")
    _run(tmp_path / "with", "--base-url", sandbox.base_url, "--api-key", VALID, "--expectations", "sandbox",
         "--cases", "chat.basic", "--checks", "chat.usage-arithmetic")
    out = capsys.readouterr().out
    exchanges = json.loads((tmp_path / "with" / "exchanges.json").read_text())
    assert all(e["request_id"] and e["request_id"].startswith("sandbox-req-") for e in exchanges.values())
    assert re.search(r"request id: sandbox-req-\d+", out)
    sandbox.set_deviations(["errors.no-request-id"])
    code, record = _run(tmp_path / "without", "--base-url", sandbox.base_url, "--api-key", VALID,
                        "--expectations", "sandbox", "--cases", "chat.basic", "--checks", "http.request-id")
    failed = _by_outcome(record, "failed")
    assert code == 1 and failed and all(r["severity"] == "warning" for r in failed)


@pytest.mark.slow
def test_credential_precedence_is_new_apis(new_api, deviant_sandbox, tmp_path):
    code, record = _run(tmp_path / "ok", "--base-url", new_api.base_url, "--api-key", VALID,
                        "--expectations", "new-api,sandbox", "--cases", "auth.precedence.*")
    assert code == 0 and _by_outcome(record, "passed")
    assert {r["case_id"] for r in record["results"]} == {
        "auth.precedence.goog-header-over-query", "auth.precedence.query-over-bearer",
        "auth.precedence.x-api-key-over-bearer", "auth.precedence.losing-key-is-not-used"}
    reversed_ = deviant_sandbox("auth.bearer-wins")
    code, record = _run(tmp_path / "reversed", "--base-url", reversed_.base_url, "--api-key", VALID,
                        "--expectations", "sandbox", "--cases", "auth.precedence.*")
    assert code == 1
    assert {r["case_id"] for r in _by_outcome(record, "failed")} >= {"auth.precedence.query-over-bearer",
                                                                    "auth.precedence.x-api-key-over-bearer"}


def test_a_listed_compact_alias_is_folded_into_its_model():
    found = {"m": frozenset({"openai"}), "m-openai-compact": frozenset({"openai-response-compact"}),
             "only-openai-compact": frozenset({"openai-response-compact"})}
    assert fold_compact_aliases(found) == {"m": frozenset({"openai"}),
                                           "only": frozenset({"openai-response-compact"})}


@pytest.mark.slow
def test_compact_is_served_through_the_alias_and_a_claim_without_one_fails(deviant_sandbox, tmp_path):
    # new-api before bb234ff4 (2026-08-11) routed compact for X to X-openai-compact; the current one does not
    older = start_sandbox(SandboxConfig(deviations=frozenset({"responses.compact-suffix"})))
    with older, httpx.Client(base_url=older.base_url, headers={"Authorization": f"Bearer {VALID}"}) as client:
        ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert "sandbox-omni-openai-compact" in ids
        assert client.post("/v1/responses/compact", json={"model": "sandbox-omni", "input": "hi"}).status_code == 200
        refused = client.post("/v1/responses/compact", json={"model": "sandbox-chat", "input": "hi"})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "model_not_found"
        code, record = _run(tmp_path / "ok", "--base-url", older.base_url, "--api-key", VALID, "--cases", "compact.*",
                            "--expectations", "new-api,sandbox")
    assert code == 0 and not any(r["model"] == "sandbox-omni-openai-compact" for r in record["results"])
    assert any(r["model"] == "sandbox-omni" and r["outcome"] == "passed" for r in record["results"])
    # a model that claims compact, but no <model>-openai-compact exists: the claim does not hold
    sandbox = deviant_sandbox()  # started without the suffix, so it has no alias; then switched to it
    sandbox.set_deviations(["responses.compact-suffix", "errors.unknown-model-503"])
    code, record = _run(tmp_path / "claim", "--base-url", sandbox.base_url, "--api-key", VALID,
                        "--expectations", "sandbox", "--cases", "compact.basic")
    failed = [r for r in _by_outcome(record, "failed") if r["check_id"] == "models.claimed-endpoint-works"]
    assert code == 1 and failed and "503" in failed[0]["message"]
    matrix = json.loads((tmp_path / "claim" / "matrix.json").read_text())
    cell = matrix["cells"]["sandbox-omni"]["responses.compact"]
    assert cell["claimed"] is True and cell["verdict"] != "supported"
