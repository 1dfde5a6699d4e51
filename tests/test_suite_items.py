"""The suites' lean items (suite_items.CheckItem) against pytest's own parametrized functions: the same node ids,
outcomes and messages, and the pytest features users rely on (-k, -x, junit) on them."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from oimi_conformance.cli import main

VALID = "sk-sandbox-valid"
PAIR = '''
from oimi_conformance.pytest_plugin import assert_check

OIMI_AREAS = ("chat", "http")


def test_lean(oimi_result, oimi_exchanges):
    assert_check(oimi_result, oimi_exchanges)


def test_fixtures(oimi_result, oimi_exchanges, request):  # another fixture: pytest parametrizes it itself
    assert_check(oimi_result, oimi_exchanges)
'''


def _cases(junit) -> dict[str, dict[str, tuple[str, str]]]:
    """test function -> item id -> (outcome, message) of a junit.xml."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        function, item_id = case.get("name")[:-1].split("[", 1)  # test_lean[check@case[model]]
        child = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        outcome = child.tag if child is not None else "passed"
        out.setdefault(function, {})[item_id] = (outcome, (child.get("message") or "") if child is not None else "")
    return out


@pytest.mark.slow
def test_lean_items_equal_pytests_parametrized_functions(deviant_sandbox, tmp_path):
    sandbox = deviant_sandbox("chat.usage-arithmetic")
    (tmp_path / "test_pair.py").write_text(PAIR)
    argv = [sys.executable, "-m", "pytest", str(tmp_path / "test_pair.py"), "-q", "-p", "no:cacheprovider",
            "-p", "no:xdist", "--rootdir", str(tmp_path), "--base-url", sandbox.base_url, "--api-key", VALID,
            "--models", "sandbox-omni", "--cases", "chat.basic,chat.stream", "--report-dir", str(tmp_path / "report"),
            f"--junitxml={tmp_path / 'junit.xml'}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:]
    cases = _cases(tmp_path / "junit.xml")
    lean, fixtures = cases["test_lean"], cases["test_fixtures"]
    assert lean == fixtures  # the same ids, in the same order, with the same outcomes and messages
    assert list(lean) == list(fixtures)
    outcomes = {outcome for outcome, _ in lean.values()}
    assert {"passed", "failure", "skipped"} <= outcomes
    assert "chat.usage-arithmetic@chat.basic[sandbox-omni]" in lean
    assert VALID not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_keyword_and_exitfirst_select_and_stop_lean_items(deviant_sandbox, tmp_path):
    sandbox = deviant_sandbox("chat.usage-arithmetic")
    base = ["run", "-q", "--base-url", sandbox.base_url, "--api-key", VALID, "--models", "sandbox-omni"]
    assert main([*base, "--report-dir", str(tmp_path / "k"), "-k", "usage-arithmetic and chat.basic"]) == 1
    selected = json.loads((tmp_path / "k" / "results.json").read_text())["results"]
    assert [(r["check_id"], r["case_id"]) for r in selected] == [("chat.usage-arithmetic", "chat.basic")]
    assert main([*base, "--report-dir", str(tmp_path / "x"), "--checks", "chat.usage-arithmetic", "--", "-x"]) == 1
    suite = ET.parse(tmp_path / "x" / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1"  # stopped at the first failure
    ran = json.loads((tmp_path / "x" / "results.json").read_text())["results"]
    assert 1 <= len(ran) < 10 and ran[-1]["outcome"] == "failed"
