"""`oimi-conformance diff`: regressions, fixes, capabilities and models between two runs."""

from __future__ import annotations

import json

import pytest

from oimi_conformance.cli import main
from oimi_conformance.diff import diff_runs


def result(check, case, model, outcome, capability="chat", message=""):
    return {"check_id": check, "case_id": case, "model": model, "outcome": outcome, "capability": capability,
            "message": message}


def run(results, models=("m1", "m2")):
    return {"version": 1, "meta": {}, "models": [{"id": m, "claims": None} for m in models], "results": results}


OLD = run([
    result("chat.usage-arithmetic", "chat.basic", "m1", "passed"),
    result("chat.n-honoured", "chat.n", "m1", "passed", "chat.n"),
    result("body.schema", "chat.basic", "m2", "failed", message="bad"),
    result("chat.tool-call", "chat.tools", "m2", "skipped", "chat.tools", "unsupported by model m2: HTTP 400"),
    result("gemini.role-model", "gemini.basic", "m1", "xfailed", "gemini"),
])


def test_identical_runs_do_not_regress():
    d = diff_runs(OLD, OLD)
    assert not d.regressed and not d.newly_passing and not d.capabilities_gained


def test_regressions_fixes_capabilities_and_models():
    new = run([
        result("chat.usage-arithmetic", "chat.basic", "m1", "failed", message="does not add up"),
        result("chat.n-honoured", "chat.n", "m1", "passed", "chat.n"),
        result("body.schema", "chat.basic", "m2", "passed"),
        result("chat.tool-call", "chat.tools", "m2", "passed", "chat.tools"),
        result("gemini.role-model", "gemini.basic", "m1", "failed", "gemini"),
    ], models=("m1", "m3"))
    d = diff_runs(OLD, new)
    assert d.regressed
    assert [r["check_id"] for r in d.newly_failing] == ["chat.usage-arithmetic"]  # xfailed -> failed is not new
    assert [r["check_id"] for r in d.newly_passing] == ["body.schema"]
    assert [(r["model"], r["capability"]) for r in d.capabilities_lost] == [("m1", "chat")]
    assert ("m2", "chat.tools") in [(r["model"], r["capability"]) for r in d.capabilities_gained]
    assert d.models_new == ["m3"] and d.models_vanished == ["m2"]


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_cli_formats_and_exit_codes(tmp_path, capsys, fmt):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text(json.dumps(OLD))
    worse = run([*OLD["results"][:1], result("chat.n-honoured", "chat.n", "m1", "error", "chat.n")])
    (tmp_path / "new.json").write_text(json.dumps(worse))
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "old"), "--format", fmt]) == 0
    capsys.readouterr()
    assert main(["diff", str(tmp_path / "old"), str(tmp_path / "new.json"), "--format", fmt]) == 1
    out = capsys.readouterr().out
    if fmt == "json":
        assert json.loads(out)["regressed"] is True
    else:
        assert "chat.n-honoured" in out and "Vanished models" not in out


def test_unreadable_input_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "x.json").write_text("[]")
    assert main(["diff", str(tmp_path / "x.json"), str(tmp_path / "x.json")]) == 2
    assert "not a results.json" in capsys.readouterr().err
