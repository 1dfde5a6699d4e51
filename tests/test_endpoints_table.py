"""specs/endpoints.yaml: the one table of endpoints, its checks, the data that must agree with it, and an
endpoint added from data alone (a new entry and a case file, no code) planned, judged and shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from oimi_conformance import cases, endpoints, specdir
from oimi_conformance.cases import probe_cases
from oimi_conformance.engine import Engine, RunConfig
from oimi_conformance.exceptions import UsageError
from oimi_conformance.html_report import render_page
from oimi_conformance.matrix import build_matrix, matrix_markdown, matrix_text
from oimi_conformance.profile import load_expectations, load_profile
from oimi_conformance.target import SANDBOX_KEYS

SPECS = specdir.spec_root()
NEW = "chat-mini"  # the synthetic endpoint: Chat Completions again, under a name no code knows


def _table_data() -> dict:
    return yaml.safe_load((SPECS / endpoints.SPEC_FILE).read_text(encoding="utf-8"))


def test_every_probe_case_exists_and_probes_its_capability():
    probes = probe_cases()
    assert set(probes) == set(endpoints.capability_names())
    for cap in endpoints.table().capabilities():
        assert probes[cap.name].id == cap.probe and probes[cap.name].endpoint == cap.endpoint


def test_every_case_names_a_known_endpoint_and_family():
    known = set(endpoints.endpoint_order())
    families = set(endpoints.family_titles())
    bad = [(c.id, c.endpoint, c.family) for c in cases.load_cases()
           if c.endpoint not in known or c.family not in families]
    assert bad == []


def test_every_operation_of_the_openapi_document_belongs_to_an_endpoint():
    listed = {o.id for o in endpoints.table().operations()}
    assert listed == set(cases.operations())


def test_report_schemas_list_the_same_endpoints_and_capabilities():
    # the published report schemas enumerate them for readers: data that must follow the table
    results = json.loads((SPECS / "schemas/report/results.json").read_text())
    matrix = json.loads((SPECS / "schemas/report/matrix.json").read_text())
    endpoint_enum = results["properties"]["results"]["items"]["properties"]["endpoint"]["enum"]
    assert endpoint_enum == [*endpoints.endpoint_order(), "sdk"]
    assert matrix["$defs"]["capability"]["enum"] == list(endpoints.capability_names())


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["endpoints"]["chat"].update(family="cohere"), "family 'cohere'"),
    (lambda d: d["endpoints"]["chat"]["capabilities"]["chat"].update(label="chat-basic"), "label longer"),
    (lambda d: d["endpoints"]["chat"]["capabilities"]["chat.json"].update(requires="chat.audio"), "unknown capability"),
    (lambda d: d["endpoints"]["rerank"]["capabilities"]["rerank"].update(probe="chat.basic"), "probe case"),
    (lambda d: d["endpoints"]["rerank"]["operations"].update(createChatCompletion={}), "operation"),
    (lambda d: d["endpoints"]["models"]["operations"]["listModels"].update(output_pin={}), "unknown keys"),
])
def test_a_malformed_table_is_refused(change, message):
    data = _table_data()
    change(data)
    with pytest.raises(UsageError, match=message):
        endpoints.parse_table(data)


# -- an endpoint from data alone ------------------------------------------------------------------------------


@pytest.fixture
def synthetic_specs(tmp_path, monkeypatch):
    """A copy of specs/ (links, but for endpoints.yaml and cases/) with one more endpoint, `chat-mini`: an
    entry of the table and a case file whose one case reuses createChatCompletion."""
    root = tmp_path / "specs"
    root.mkdir()
    for entry in SPECS.iterdir():
        if entry.name not in (endpoints.SPEC_FILE, "cases"):
            (root / entry.name).symlink_to(entry)
    (root / "cases").mkdir()
    for case_file in (SPECS / "cases").iterdir():
        (root / "cases" / case_file.name).symlink_to(case_file)
    data = _table_data()
    data["endpoints"][NEW] = {
        "family": "openai", "claim": "openai",
        "capabilities": {NEW: {"probe": f"{NEW}.basic", "label": "cmini"}},
        "operations": {},  # createChatCompletion belongs to chat; nothing new to fuzz
    }
    (root / endpoints.SPEC_FILE).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    chat_basic = next(c for c in yaml.safe_load((SPECS / "cases/chat.yaml").read_text())["cases"]
                      if c["id"] == "chat.basic")
    (root / "cases" / f"{NEW}.yaml").write_text(yaml.safe_dump({
        "family": "openai", "endpoint": NEW,
        "cases": [{**chat_basic, "id": f"{NEW}.basic", "title": "a short chat completion, as chat-mini",
                   "capability": NEW}]}, sort_keys=False), encoding="utf-8")
    # the loaders read below the spec root at call time; their caches are dropped on both sides
    monkeypatch.setattr(specdir, "spec_root", lambda: root)
    monkeypatch.setattr(cases, "spec_root", lambda: root)
    endpoints.table.cache_clear()
    cases.load_cases.cache_clear()
    yield root
    endpoints.table.cache_clear()
    cases.load_cases.cache_clear()


def test_an_endpoint_added_as_data_is_planned_judged_and_shown(synthetic_specs, sandbox, tmp_path: Path):
    config = RunConfig(base_url=sandbox.base_url, keys=dict(SANDBOX_KEYS), profile=load_profile("oimi"),
                       expectations=load_expectations("sandbox"), checks=None, concurrency=8, timeout=30.0,
                       cases=["chat.basic", f"{NEW}.basic"])
    record = Engine(config).run()
    claiming = {m["id"] for m in record.models if m["claims"] is None or "openai" in m["claims"]}
    mini = [r for r in record.results if r.case_id == f"{NEW}.basic"]
    # planned: on every model that claims its claim name, and no other
    assert {r.model for r in mini} == claiming and claiming and claiming != {m["id"] for m in record.models}
    assert all(r.endpoint == NEW and r.capability == NEW for r in mini)

    # judged: the same checks and outcomes as the chat case it copies, model by model
    def outcomes(case_id: str) -> set[tuple[str | None, str, str]]:
        return {(r.model, r.check_id, r.outcome) for r in record.results if r.case_id == case_id}
    assert outcomes(f"{NEW}.basic") == outcomes("chat.basic")
    assert any(r.outcome == "passed" for r in mini)
    assert not [r for r in mini if r.outcome in ("failed", "error")]
    # shown: a column of the matrix, with its label, its claim and the same verdicts as chat's column
    matrix = build_matrix(record.as_dict())
    assert matrix["capabilities"][-1] == NEW
    assert matrix["probes"][NEW] == {"case": f"{NEW}.basic", "endpoint": NEW, "claim": "openai",
                                     "claim_covers": True, "requires": None}
    for model in claiming:
        assert matrix["cells"][model][NEW]["verdict"] == matrix["cells"][model]["chat"]["verdict"] == "supported"
    assert f"| images | {NEW} |" in matrix_markdown(matrix)
    assert " cmini" in matrix_text(matrix)
    page = render_page(record.as_dict(), record.exchanges, matrix)
    assert f">{NEW}<" in page and f"{NEW}.basic" in page
