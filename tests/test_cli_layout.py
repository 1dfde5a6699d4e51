"""The CLI's parts: commands/, exit codes, the one pytest argv, reporters, the page's assets, the console exit."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from oimi_conformance import commands, exits, pytest_argv
from oimi_conformance.cli import build_parser
from oimi_conformance.html_report import CSP, render_page
from oimi_conformance.reporters import (
    RECORD_REPORTERS,
    AllureResults,
    JUnitXml,
    write_reports,
)
from oimi_conformance.results import CheckResult, RunRecord


def test_every_command_module_is_a_command_of_the_parser():
    modules = sorted(p.stem for p in Path(commands.__file__).parent.glob("*.py") if p.stem != "__init__")
    assert sorted(commands.COMMANDS) == modules
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(commands.COMMANDS)


def test_pytest_exit_codes_map_onto_the_commands(capsys):
    assert exits.from_pytest(0, "x") == exits.EXIT_OK
    assert exits.from_pytest(1, "x") == exits.EXIT_FAILED
    assert capsys.readouterr().err == ""
    assert exits.from_pytest(5, "no check selected") == exits.EXIT_USAGE
    assert capsys.readouterr().err == "oimi-conformance: error: no check selected\n"
    assert exits.from_pytest(2, "x") == exits.from_pytest(3, "x") == exits.EXIT_USAGE


def test_one_argv_with_the_reports_and_the_callers_arguments_last(tmp_path):
    argv = pytest_argv.build(tmp_path, quiet=True, report_dir=tmp_path / "r",
                             reports=[JUnitXml("suite"), AllureResults("A")], options=["-k", "chat"],
                             disabled_plugins=["logging"], plain_assert=True, pytest_args=["-x"])
    assert argv[0] == str(tmp_path) and argv[-1] == "-x"
    assert f"--junitxml={tmp_path / 'r' / 'junit.xml'}" in argv and "junit_suite_name=suite" in argv
    assert argv[argv.index("--alluredir") + 1] == "A" and "--clean-alluredir" in argv
    assert "-pno:logging" in argv and "--assert=plain" in argv and "-q" in argv
    assert argv.index("-k") < argv.index("-x")


def test_per_item_plugins_stay_when_arguments_ask_for_them():
    assert pytest_argv.per_item_plugins_unused([]) == ["logging", "warnings"]
    assert pytest_argv.per_item_plugins_unused(["--log-cli-level=INFO"]) == ["warnings"]
    assert pytest_argv.per_item_plugins_unused(["-W", "error", "-o", "log_cli=true"]) == []


def _record() -> RunRecord:
    result = CheckResult(check_id="http.status", title="t", case_id="chat.basic", endpoint="chat", capability="chat",
                         operation="createChatCompletion", model="m", auth="bearer", stream=False, outcome="passed",
                         severity="error", message="", spec="", exchange=None)
    return RunRecord(meta={"target": "t", "base_url": "http://127.0.0.1:1"}, results=[result], exchanges={},
                     models=[{"id": "m"}])


def test_record_reporters_write_their_files_from_one_record(tmp_path):
    assert [r.name for r in RECORD_REPORTERS] == ["results", "matrix", "html"]
    written = write_reports(_record(), tmp_path / "out")
    assert {k: p.name for k, p in written.items()} == {"results": "results.json", "matrix": "matrix.md",
                                                      "html": "report.html"}
    folder = tmp_path / "out"
    assert sorted(p.name for p in folder.iterdir()) == ["exchanges.json", "matrix.json", "matrix.md",
                                                        "report.html", "results.json"]
    document = json.loads((folder / "results.json").read_text())
    assert document == _record().as_dict()
    assert json.loads((folder / "exchanges.json").read_text()) == {}


def test_allure_results_of_several_folders_merge_side_by_side(tmp_path):
    for shard, name in (("a", "1-result.json"), ("b", "2-result.json")):
        (tmp_path / shard / "allure-results").mkdir(parents=True)
        (tmp_path / shard / "allure-results" / name).write_text("{}")
    merged = AllureResults.merge([tmp_path / "a", tmp_path / "b", tmp_path / "none"], tmp_path / "out")
    assert merged is not None and sorted(p.name for p in merged.iterdir()) == ["1-result.json", "2-result.json"]
    assert AllureResults.merge([tmp_path / "none"], tmp_path / "empty") is None


def _sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_pages_style_and_script_are_package_data_hashed_by_the_csp():
    assets = files("oimi_conformance").joinpath("report_assets")
    css, js = assets.joinpath("report.css").read_text(), assets.joinpath("report.js").read_text()
    page = render_page(_record().as_dict(), {}, {})
    assert f"<style>{css}</style>" in page and f"<script>{js}</script>" in page
    assert f"'sha256-{_sha(css)}'" in CSP and f"'sha256-{_sha(js)}'" in CSP


def test_the_console_exit_flushes_everything_and_keeps_the_exit_code(tmp_path):
    listed = subprocess.run([sys.executable, "-m", "oimi_conformance.cli", "checks"], capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) > 100 and listed.stdout.endswith("\n")
    (tmp_path / "body.json").write_text('{"object": "list"}')
    judged = subprocess.run([sys.executable, "-m", "oimi_conformance.cli", "validate", "--kind",
                             "openai.chat.completion", str(tmp_path / "body.json")], capture_output=True, text=True,
                            timeout=120)
    assert judged.returncode == 1 and "violation" in judged.stdout
