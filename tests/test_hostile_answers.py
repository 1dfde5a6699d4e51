"""Issue 11, hostile answers: deep nesting, lone surrogates, odd model ids, terminal and Markdown injection
become failed checks (or one line, exit 2), never a crash, and every report is still written."""

from __future__ import annotations

import json
import re

import pytest

from oimi_conformance.cli import main
from oimi_conformance.testing.hostile import ESCAPES, HostileConfig, start_hostile

KEY = "sk-hostile-secret-key-42"
ODD_IDS = ["\ud800x", "", "-", "a" * 300, "evil\x1b]0;title\x07\x1b[2J", "pipe|<script>x</script>\nnew"]
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _run(base_url: str, tmp_path, *extra: str) -> int:
    return main(["run", "--base-url", base_url, "--api-key", KEY, "--report-dir", str(tmp_path / "report"), *extra])


def _reports_written(tmp_path) -> dict:
    report = tmp_path / "report"
    for name in ("results.json", "exchanges.json", "report.html", "matrix.md", "matrix.json", "junit.xml"):
        assert (report / name).stat().st_size > 0, name
    (report / "report.html").read_text(encoding="utf-8")  # valid UTF-8
    return json.loads((report / "results.json").read_text(encoding="utf-8"))


def test_a_deeply_nested_model_list_is_one_line_exit_2(tmp_path, capfd):
    with start_hostile(HostileConfig(mode="deep", depth=20000)) as hostile:
        code = _run(hostile.base_url, tmp_path)
    err = capfd.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err


@pytest.mark.parametrize("depth", [950, 20000])
@pytest.mark.slow
def test_deeply_nested_answers_are_failed_checks_with_every_report_written(tmp_path, capfd, depth):
    with start_hostile(HostileConfig(mode="deep", depth=depth)) as hostile:
        code = _run(hostile.base_url, tmp_path, "--models", "hostile-chat", "--cases", "chat.basic,models.list",
                    "-q")
    out, err = capfd.readouterr()
    assert code == 1 and "Traceback" not in out + err and "RecursionError" not in out + err
    results = _reports_written(tmp_path)["results"]
    assert any(r["case_id"] == "chat.basic" and r["outcome"] == "failed" for r in results)


def test_validate_judges_a_deep_body_without_a_traceback(tmp_path, capsys):
    body = tmp_path / "deep.json"
    body.write_text("[" * 20000 + "]" * 20000)
    assert main(["validate", "--kind", "openai.chat.completion", str(body)]) == 1
    out = capsys.readouterr().out
    assert "framing.too-deep" in out


@pytest.mark.slow
def test_odd_model_ids_are_recorded_replayed_and_reported(tmp_path, capfd):
    cassettes = tmp_path / "cassettes"
    with start_hostile(HostileConfig(models=ODD_IDS)) as hostile:
        code = _run(hostile.base_url, tmp_path, "--cases", "chat.basic,models.list", "--record", "--cassette-dir",
                    str(cassettes), "--alluredir", str(tmp_path / "report" / "allure-results"))
    out, err = capfd.readouterr()
    assert code in (0, 1) and "Traceback" not in out + err and "INTERNALERROR" not in out + err
    assert not CONTROL.search(out.replace("\n", "").replace("\t", "")), "a control character reached the terminal"
    results = _reports_written(tmp_path)
    assert list((tmp_path / "report" / "allure-results").iterdir())
    assert (cassettes / "_run.json").is_file()
    files = sorted((cassettes / "chat.basic").glob("*.yaml"))
    assert len(files) == len(ODD_IDS)  # one each: no two ids share a file
    assert all(len(f.name.encode()) <= 100 for f in files)
    recorded = {json.loads(f.read_text(encoding="utf-8").splitlines()[0][len("# model: "):]) for f in files}
    assert "a" * 300 in recorded and "" in recorded and "-" in recorded  # the real id, inside the file
    markdown = (tmp_path / "report" / "matrix.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown and "\x1b" not in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(ODD_IDS) and all(line.count(" | ") == table[0].count(" | ") for line in table)
    assert {r["model"] for r in results["results"] if r["case_id"] == "chat.basic"} >= {"\ufffdx", "a" * 300}
    capfd.readouterr()
    replay = main(["run", "--replay", str(cassettes), "--report-dir", str(tmp_path / "replay"), "-q"])
    out, err = capfd.readouterr()
    assert replay == code, out + err


def test_control_sequences_in_answers_never_reach_the_terminal(tmp_path, capfd):
    with start_hostile(HostileConfig(mode="raw-text")) as hostile:
        code = _run(hostile.base_url, tmp_path, "--models", "hostile-chat", "--cases", "chat.basic")
    out, err = capfd.readouterr()
    assert code == 1 and "upstream broke" in out
    assert "\x1b" not in out + err and "\x07" not in out + err and "\r" not in out + err
    assert "\\x1b]0;pwned-title" in out  # shown, escaped
    assert ESCAPES not in (tmp_path / "report" / "matrix.md").read_text(encoding="utf-8")
