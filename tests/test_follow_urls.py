"""images.url-resolves fetches the url an answer handed back: judged live, from the recording on replay, and
skipped with its reason under --no-follow-urls or when a recording was made without the fetch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from oimi_conformance.cli import main
from oimi_conformance.specdir import spec_root

SHIPPED = spec_root().parent / "cassettes" / "sandbox"
CASE = "images.url.resolves"


def _result(report: Path) -> dict:
    results = json.loads((report / "results.json").read_text())["results"]
    return next(r for r in results if r["check_id"] == "images.url-resolves" and r["case_id"] == CASE)


@pytest.mark.slow
def test_replay_judges_the_recorded_fetch_and_skips_without_one(tmp_path):
    copy = tmp_path / "cassettes"
    shutil.copytree(SHIPPED, copy)
    args = ["run", "-q", "--checks", "images.url-resolves", "--cases", CASE]
    assert main([*args, "--replay", str(copy), "--report-dir", str(tmp_path / "a")]) == 0
    assert _result(tmp_path / "a")["outcome"] == "passed"

    cassette = copy / CASE / "sandbox-image.yaml"
    recorded = yaml.safe_load(cassette.read_text())
    recorded["interactions"] = recorded["interactions"][:1]  # as recorded with --no-follow-urls
    cassette.write_text(yaml.safe_dump(recorded))
    assert main([*args, "--replay", str(copy), "--report-dir", str(tmp_path / "b")]) == 0
    result = _result(tmp_path / "b")
    assert result["outcome"] == "skipped" and "the recording has no answer to GET" in result["message"]


def test_no_follow_urls_sends_no_fetch(tmp_path):
    args = ["run", "-q", "--checks", "images.url-resolves", "--cases", CASE, "--report-dir", str(tmp_path)]
    assert main([*args, "--no-follow-urls"]) == 0
    result = _result(tmp_path)
    assert result["outcome"] == "skipped" and "--no-follow-urls" in result["message"]
    exchanges = json.loads((tmp_path / "exchanges.json").read_text())
    assert not any("/sandbox-files/" in e["url"] for e in (exchanges.values() if isinstance(exchanges, dict)
                                                           else exchanges))
