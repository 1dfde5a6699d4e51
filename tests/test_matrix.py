"""`oimi-conformance matrix` and the matrix every run writes, against real sandbox gateways on loopback."""

from __future__ import annotations

import contextlib
import io
import json
import socket

import jsonschema
import pytest

from oimi_conformance.cases import probe_cases
from oimi_conformance.cli import main
from oimi_conformance.endpoints import capability_names, requires
from oimi_conformance.sandbox import catalog
from oimi_conformance.sandbox.catalog import ModelSpec
from oimi_conformance.sandbox.server import SandboxConfig, start_sandbox
from oimi_conformance.specdir import spec_root

VALID = "sk-sandbox-valid"
CAPABILITIES, REQUIRES = capability_names(), requires()  # the columns of specs/endpoints.yaml
SCHEMA = json.loads((spec_root() / "schemas" / "report" / "matrix.json").read_text())


def _matrix(tmp_path, *args: str) -> tuple[int, dict, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["matrix", "--report-dir", str(tmp_path), "-q", *args])
    path = tmp_path / "matrix.json"
    matrix = json.loads(path.read_text()) if path.is_file() else {}
    if matrix:
        jsonschema.Draft202012Validator(SCHEMA).validate(matrix)
    return code, matrix, out.getvalue()


def _served(sandbox) -> int:
    """Requests the sandbox has answered so far, from its own request counter (this call takes one number)."""
    return int(sandbox.state.next_request_id().rsplit("-", 1)[1])


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    """`oimi-conformance matrix` on the embedded default: (exit code, matrix.json, stdout, report dir)."""
    report = tmp_path_factory.mktemp("matrix-default")
    code, matrix, out = _matrix(report)
    return code, matrix, out, report


def test_probe_cases_are_one_per_capability():
    probes = probe_cases()
    assert sorted(probes) == sorted(CAPABILITIES) == sorted(catalog.CAPABILITIES)
    assert all(len(c.steps) == 1 and c.per_model for c in probes.values())
    assert probes["responses.compact"].id == "compact.basic" and probes["responses.compact"].endpoint == "compact"
    assert set(REQUIRES) <= set(CAPABILITIES) and set(REQUIRES.values()) <= set(CAPABILITIES)


def test_default_matrix_shows_all_four_verdicts_and_exits_0(default):
    code, matrix, out, _ = default
    assert code == 0  # broken cells included: a matrix is information
    assert matrix["source"] == "matrix"
    assert all(matrix["counts"][v] > 0 for v in ("supported", "unsupported", "broken", "not probed")), matrix["counts"]
    assert len(matrix["models"]) == len(catalog.DEFAULT_MODELS) and matrix["capabilities"] == list(CAPABILITIES)
    cells = matrix["cells"]
    assert cells["sandbox-omni"]["chat.tools"]["verdict"] == "supported"
    # a clean, documented 400 model_not_supported: unsupported, with the refusal as the reason
    embed_chat = cells["sandbox-embed"]["chat"]
    assert embed_chat["verdict"] == "unsupported" and "HTTP 400" in embed_chat["reason"]
    # a feature of an endpoint the model refused is not asked, and says why
    assert cells["sandbox-embed"]["chat.tools"]["verdict"] == "not probed"
    assert "refused chat.basic" in cells["sandbox-embed"]["chat.tools"]["reason"]
    # broken cells name their failing checks
    flaky = cells["sandbox-flaky"]
    assert flaky["chat.stream"]["verdict"] == "broken" and flaky["chat.stream"]["failing"]
    assert flaky["gemini"]["verdict"] == "broken" and "body.schema" in flaky["gemini"]["failing"]
    assert flaky["chat"]["verdict"] == "supported"
    # sandbox-chat claims openai-response and refuses /v1/responses: the claim disagrees
    responses = cells["sandbox-chat"]["responses"]
    assert responses["claimed"] is True and responses["verdict"] == "unsupported" and responses["agrees"] is False
    assert {"model": "sandbox-chat", "capability": "responses"}.items() <= next(
        d for d in matrix["disagreements"] if d["capability"] == "responses").items()
    # the table is printed, with the broken cells' checks
    assert "sandbox-flaky" in out and "broken cells" in out and "chat.stream.choices" in out


def test_at_most_one_request_per_cell(default):
    _, matrix, _, report = default
    record = json.loads((report / "results.json").read_text())
    exchanges = json.loads((report / "exchanges.json").read_text())
    probed = [(m, c) for m, row in matrix["cells"].items() for c, cell in row.items()
              if cell["verdict"] != "not probed"]
    assert record["meta"]["requests"] == len(exchanges) + 1  # + the discovery's GET /v1/models
    assert len(exchanges) <= len(probed)
    # each exchange belongs to one cell, each cell has at most one
    assert len({matrix["cells"][m][c]["exchange"] for m, c in probed}) == len(probed)
    assert all(e["attempts"] == 1 for e in exchanges.values())


def test_sandbox_counts_one_request_per_probed_cell(sandbox, tmp_path):
    before = _served(sandbox)
    code, matrix, _ = _matrix(tmp_path, "--base-url", sandbox.base_url, "--api-key", VALID,
                              "--models", "sandbox-omni,sandbox-embed")
    served = _served(sandbox) - before - 1
    probed = 2 * len(CAPABILITIES) - matrix["counts"]["not probed"]
    assert code == 0 and served == probed + 1  # the discovery, then one request per probed cell


def test_claims_disagree_both_ways(tmp_path):
    """A model claiming an endpoint it refuses, and one serving an endpoint it does not claim."""
    models = (
        ModelSpec(id="m-boastful", owned_by="t", capabilities=frozenset({"chat", "chat.stream"}),
                  claims=("openai", "jina-rerank")),
        ModelSpec(id="m-modest", owned_by="t", capabilities=frozenset({"chat", "chat.stream", "embeddings"}),
                  claims=("openai",)),
    )
    with start_sandbox(SandboxConfig(models=models)) as running:
        code, matrix, out = _matrix(tmp_path, "--base-url", running.base_url, "--api-key", VALID,
                                    "--capabilities", "chat,chat.tools,embeddings,rerank")
    assert code == 0
    found = {(d["model"], d["capability"]): d for d in matrix["disagreements"]}
    assert found.keys() == {("m-boastful", "rerank"), ("m-modest", "embeddings")}
    boast = found[("m-boastful", "rerank")]
    assert boast["claimed"] is True and boast["verdict"] == "unsupported"
    assert found[("m-modest", "embeddings")]["claimed"] is False
    assert "embeddings is not claimed" in found[("m-modest", "embeddings")]["note"]
    # an optional feature a claimed endpoint refuses is not a broken promise
    tools = matrix["cells"]["m-modest"]["chat.tools"]
    assert tools["verdict"] == "unsupported" and tools["claimed"] is True and tools["agrees"] is True
    assert matrix["cells"]["m-boastful"]["rerank"]["agrees"] is False
    assert matrix["cells"]["m-modest"]["responses"]["verdict"] == "not probed"  # not asked: --capabilities
    assert "m-modest embeddings" in out


def test_claims_everything_deviation_is_reported(deviant_sandbox, tmp_path):
    running = deviant_sandbox("models.claims-everything")
    code, matrix, _ = _matrix(tmp_path, "--base-url", running.base_url, "--api-key", VALID,
                              "--models", "sandbox-embed", "--capabilities", "chat,embeddings")
    assert code == 0
    assert [(d["capability"], d["verdict"]) for d in matrix["disagreements"]] == [("chat", "unsupported")]
    assert matrix["cells"]["sandbox-embed"]["embeddings"]["agrees"] is True


def test_deviation_makes_a_cell_broken_and_names_the_check(deviant_sandbox, tmp_path):
    running = deviant_sandbox("chat.usage-arithmetic")
    code, matrix, _ = _matrix(tmp_path, "--base-url", running.base_url, "--api-key", VALID,
                              "--models", "sandbox-omni", "--capabilities", "chat,embeddings")
    cell = matrix["cells"]["sandbox-omni"]["chat"]
    assert code == 0 and cell["verdict"] == "broken" and "chat.usage-arithmetic" in cell["failing"]
    assert matrix["cells"]["sandbox-omni"]["embeddings"]["verdict"] == "unsupported"  # only the broken cell breaks


def test_an_unclean_4xx_is_broken_not_unsupported(deviant_sandbox, tmp_path):
    running = deviant_sandbox("errors.html-body")
    code, matrix, _ = _matrix(tmp_path, "--base-url", running.base_url, "--api-key", VALID,
                              "--models", "sandbox-embed", "--capabilities", "chat")
    cell = matrix["cells"]["sandbox-embed"]["chat"]
    assert code == 0 and cell["verdict"] == "broken" and cell["failing"]


def test_over_budget_cells_are_not_probed(sandbox, tmp_path):
    code, matrix, _ = _matrix(tmp_path, "--base-url", sandbox.base_url, "--api-key", VALID,
                              "--models", "sandbox-omni", "--max-requests", "5")
    record = json.loads((tmp_path / "results.json").read_text())
    assert code == 0 and record["meta"]["requests"] <= 5
    over = [c for c in matrix["cells"]["sandbox-omni"].values() if c["verdict"] == "not probed"]
    assert len(over) == len(CAPABILITIES) - 4 and all("budget" in c["reason"] for c in over)


def test_claimed_only_and_exhaustive(sandbox, tmp_path):
    _, claimed, _ = _matrix(tmp_path / "claimed", "--base-url", sandbox.base_url, "--api-key", VALID,
                            "--models", "sandbox-embed", "--claimed-only")
    cells = claimed["cells"]["sandbox-embed"]
    assert cells["embeddings"]["verdict"] == "supported"
    assert all(c["verdict"] == "not probed" and "--claimed-only" in c["reason"]
               for name, c in cells.items() if name != "embeddings")
    _, everything, _ = _matrix(tmp_path / "all", "--base-url", sandbox.base_url, "--api-key", VALID,
                               "--models", "sandbox-embed", "--exhaustive")
    assert everything["counts"]["not probed"] == 0
    assert everything["cells"]["sandbox-embed"]["chat.tools"]["verdict"] == "unsupported"


def test_streamed_usage_counts_as_tokens(sandbox, tmp_path):
    _, matrix, _ = _matrix(tmp_path, "--base-url", sandbox.base_url, "--api-key", VALID, "--models", "sandbox-omni",
                           "--capabilities", "*.stream")
    assert matrix["cells"]["sandbox-omni"]["chat.stream"]["verdict"] == "supported"
    assert matrix["tokens"]["input"] > 0 and matrix["tokens"]["output"] > 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


@pytest.mark.parametrize("command", ["matrix", "run"])
def test_dry_run_sends_nothing(command, tmp_path, capsys):
    code = main([command, "--dry-run", "--base-url", f"http://127.0.0.1:{_closed_port()}", "--api-key", VALID,
                 "--models", "m1,m2", "--report-dir", str(tmp_path), "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "nothing was sent" in out and "requests: at most" in out
    assert "m1" in out and "m2" in out  # the cells, one row per model
    assert not (tmp_path / "results.json").exists()
    if command == "matrix":
        assert f"= {2 * len(CAPABILITIES)};" in out and f"at most {2 * len(CAPABILITIES)}," in out


def test_dry_run_without_models_sends_only_the_discovery(sandbox, capsys):
    before = _served(sandbox)
    code = main(["matrix", "--dry-run", "--base-url", sandbox.base_url, "--api-key", VALID, "-q"])
    out = capsys.readouterr().out
    assert code == 0 and _served(sandbox) - before - 1 == 1
    assert "1 request sent, the discovery GET /v1/models" in out


def test_matrix_md_is_one_row_per_model(default):
    _, matrix, _, report = default
    md = (report / "matrix.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + len(matrix["models"])  # the header, then one row per model
    assert all(row.count("|") == len(CAPABILITIES) + 2 for row in rows)
    assert len(md.splitlines()) < 60
    assert "claim disagreements" in md and "sandbox-chat responses" in md


def test_every_run_writes_its_matrix(sandbox, tmp_path):
    code = main(["run", "--base-url", sandbox.base_url, "--api-key", VALID, "--models", "sandbox-chat,sandbox-embed",
                 "--cases", "chat.basic,embeddings.single,responses.basic", "--expectations", "sandbox",
                 "--report-dir", str(tmp_path), "-q"])
    matrix = json.loads((tmp_path / "matrix.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(matrix)
    assert code == 0 and matrix["source"] == "run" and (tmp_path / "matrix.md").is_file()
    cells = matrix["cells"]
    assert cells["sandbox-chat"]["chat"]["verdict"] == "supported"
    assert cells["sandbox-embed"]["embeddings"]["verdict"] == "supported"
    # a run probes what is claimed: sandbox-embed does not claim chat, so its chat cell is not probed
    assert cells["sandbox-embed"]["chat"]["verdict"] == "not probed"
    assert "not claimed" in cells["sandbox-embed"]["chat"]["reason"]
    assert [(d["model"], d["capability"]) for d in matrix["disagreements"]] == [("sandbox-chat", "responses")]


def test_matrix_writes_its_page(default):
    code, matrix, out, report = default
    page = (report / "report.html").read_text(encoding="utf-8")
    assert code == 0 and "report.html" in out
    # the page holds the matrix: every model of matrix.json and a verdict of each kind it found
    assert all(model in page for model in matrix["cells"])
    verdicts = {cell["verdict"] for row in matrix["cells"].values() for cell in row.values()}
    assert verdicts and all(v in page for v in verdicts)
