"""Allure results, JUnit XML and `oimi-conformance report`, from a real run against a deviant sandbox."""

from __future__ import annotations

import json
import shutil
import stat
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from oimi_conformance.cli import main
from oimi_conformance.specdir import spec_root

CASES = "chat.basic,chat.stream,messages.basic,gemini.stream.json-array"
GTAG = ('<script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n    <script>\n'
        "        window.dataLayer = window.dataLayer || [];\n        function gtag(){dataLayer.push(arguments);}\n"
        "        gtag('js', new Date());\n    </script>")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outputs")
    code = main(["run", "-q", "--report-dir", str(folder), "--alluredir", str(folder / "allure-results"),
                 "--sandbox-deviation", "chat.usage-arithmetic", "--cases", CASES])
    assert code == 1
    return folder


def _allure(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((folder / "allure-results").glob("*-result.json"))]


def _labels(result: dict) -> dict[str, str]:
    return {label["name"]: label["value"] for label in result["labels"]}


def _params(result: dict) -> dict[str, str]:
    return {p["name"]: p["value"].strip("'") for p in result["parameters"]}


@pytest.mark.slow
def test_every_check_result_is_an_allure_result(run_dir):
    results = json.loads((run_dir / "results.json").read_text())["results"]
    allure = [r for r in _allure(run_dir) if "story" in _labels(r)]  # not a suite with nothing to parametrize
    assert len(allure) == len(results)
    ids = {_params(r)["oimi_item"] for r in allure}
    assert ids == {f"{r['check_id']}@{r['case_id']}[{r['model']}]" for r in results}
    epics = {_labels(r)["epic"] for r in allure}
    assert epics == {"OpenAI-compatible", "Claude Messages", "Gemini"}
    failed = next(r for r in allure if r["status"] == "failed")
    labels, params = _labels(failed), _params(failed)
    assert (labels["feature"], labels["story"], labels["severity"]) == ("chat", "chat.usage-arithmetic", "critical")
    assert params["model"].startswith("sandbox-") and params["auth"] == "bearer"
    assert params["stream"] in ("stream", "non-stream")
    assert params["case"] == failed["name"].split(" @ ")[1].split("[")[0]
    assert failed["name"].startswith("chat.usage-arithmetic @ ")
    assert failed["links"][0]["url"].startswith("https://")
    assert len({r["historyId"] for r in allure}) == len(allure)  # one history per check, case and model


def test_allure_gets_the_redacted_exchange_and_the_stream_transcript(run_dir):
    folder = run_dir / "allure-results"
    allure = _allure(run_dir)
    streamed = next(r for r in allure if _params(r).get("case") == "chat.stream"
                    and _params(r).get("model") == "sandbox-omni")
    names = [a["name"] for a in streamed["attachments"]]
    assert any(n.startswith("exchange main") for n in names) and any(n.startswith("stream transcript") for n in names)
    exchange = json.loads((folder / streamed["attachments"][0]["source"]).read_text())
    assert exchange["request_headers"]["authorization"] == "Bearer REDACTED"
    transcript = (folder / next(a["source"] for a in streamed["attachments"] if a["type"] == "text/plain")).read_text()
    assert "ms  #0" in transcript and "first body byte" in transcript
    # sandbox-omni's: sandbox-flaky answers this case with one JSON object, not a stream
    array = next(r for r in allure if _params(r).get("case") == "gemini.stream.json-array"
                 and _params(r).get("model") == "sandbox-omni")
    assert any(a["name"].startswith("stream transcript") for a in array["attachments"])
    # never a key, never the repr of the live objects behind a test
    everything = "".join(p.read_text(errors="replace") for p in folder.iterdir())
    assert "sk-sandbox-valid" not in everything and "Check(" not in everything and "CaseRun(" not in everything


def test_junit_xml_names_check_case_and_model(run_dir):
    suite = ET.parse(run_dir / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "oimi-conformance" and int(suite.get("failures")) >= 1
    failing = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failing and all("chat.usage-arithmetic@" in c.get("name") for c in failing)
    props = {p.get("name"): p.get("value") for p in failing[0].iter("property")}
    assert props["check_id"] == "chat.usage-arithmetic" and props["outcome"] == "failed" and props["model"]


def _fake_allure(folder: Path, version: str) -> Path:
    """An `allure` that records its arguments and writes a page with Allure 3's analytics tag."""
    folder.mkdir()
    (folder / "page.html").write_text(f'<html><body><div id="app"></div>\n    {GTAG}\n</body></html>')
    tool = folder / "allure"
    tool.write_text(f"""#!{sys.executable}
import json, pathlib, shutil, sys
args = sys.argv[1:]
if args == ["--version"]:
    print("{version}")
    sys.exit(0)
out = pathlib.Path(args[args.index("-o") + 1])
out.mkdir(parents=True)
shutil.copy(pathlib.Path(__file__).parent / "page.html", out / "index.html")
config = json.loads(pathlib.Path(args[args.index("--config") + 1]).read_text()) if "--config" in args else None
(out.parent / "allure-call.json").write_text(json.dumps({{"args": args, "config": config}}))
""")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return folder


def test_report_builds_the_allure_report_offline_without_the_tracking_tag(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(_fake_allure(tmp_path / "bin", "3.18.0")))
    assert main(["report", "--report-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    index = run_dir / "allure-report" / "index.html"
    assert str(index) in out and "Analytics tag removed" in out
    assert "googletagmanager" not in index.read_text() and "gtag(" not in index.read_text()
    call = json.loads((run_dir / "allure-call.json").read_text())
    assert call["args"][0] == "generate" and call["args"][-2:] == ["-o", str(index.parent.resolve())]
    assert call["config"]["plugins"]["awesome"]["options"]["singleFile"] is True
    assert call["config"]["plugins"]["awesome"]["options"]["groupBy"] == ["epic", "feature", "story"]


def test_report_with_allure_2_cleans_and_says_how_to_serve(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(_fake_allure(tmp_path / "bin", "2.29.0")))
    assert main(["report", "--report-dir", str(run_dir)]) == 0
    assert "allure open" in capsys.readouterr().out
    assert json.loads((run_dir / "allure-call.json").read_text())["args"][-1] == "--clean"


def test_report_without_allure_says_how_to_get_it_and_still_writes_the_page(run_dir, tmp_path, monkeypatch, capsys):
    (run_dir / "report.html").unlink()
    monkeypatch.setenv("PATH", str(tmp_path))  # no allure here
    assert main(["report", "--report-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "npm install -g allure" in err and "npx allure" in err
    assert (run_dir / "report.html").is_file()


@pytest.mark.skipif(shutil.which("allure") is None, reason="the Allure CLI is not installed (npm install -g allure)")
def test_the_real_allure_cli_builds_a_report(run_dir, capsys):
    assert main(["report", "--report-dir", str(run_dir)]) == 0, capsys.readouterr().err
    index = run_dir / "allure-report" / "index.html"
    page = index.read_text()
    assert "googletagmanager" not in page and len(page) > 100_000
    assert str(index) in capsys.readouterr().out


def test_allure_results_are_written_only_when_asked(tmp_path):
    assert main(["run", "-q", "--report-dir", str(tmp_path), "--cases", "chat.basic", "--checks", "http.*"]) == 0
    assert (tmp_path / "junit.xml").is_file() and (tmp_path / "report.html").is_file()
    assert not (tmp_path / "allure-results").exists()


@pytest.mark.slow
def test_replayed_streams_get_a_transcript_without_times(tmp_path):
    cassettes = spec_root().parent / "cassettes" / "sandbox"
    assert main(["run", "-q", "--replay", str(cassettes), "--report-dir", str(tmp_path), "--alluredir",
                 str(tmp_path / "allure-results"), "--cases", "chat.stream"]) == 0
    texts = [p.read_text() for p in (tmp_path / "allure-results").glob("*-attachment.txt")]
    assert texts and all("arrival times are unknown" in t and "       ? ms  #0 " in t for t in texts)
