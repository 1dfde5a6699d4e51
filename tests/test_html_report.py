"""report.html: self-contained, escaped, complete, and working in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from oimi_conformance.cli import main
from oimi_conformance.diagnosis import curl
from oimi_conformance.html_report import render_page, write_report
from oimi_conformance.matrix import build_matrix

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium: `apt-get install chromium` (.ci/run does)")
HOSTILE = ('<script>document.body.dataset.pwned="script"</script><img src=x onerror="document.body.dataset.pwned='
           "'img'\"><style>body{display:none}</style></pre></details><a href=\"https://evil.example/\">x</a>")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A small run against a sandbox whose usage does not add up and whose errors are HTML pages."""
    folder = tmp_path_factory.mktemp("report")
    code = main(["run", "-q", "--report-dir", str(folder), "--sandbox-deviation", "chat.usage-arithmetic",
                 "--sandbox-deviation", "errors.html-body", "--cases", "chat.basic,chat.stream,errors.chat.*"])
    assert code == 1
    return folder


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> and <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("style", "script") else None

    def handle_data(self, data):
        if self._in:
            self.inline.append(data)

    def handle_endtag(self, tag):
        self._in = None


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _load(folder: Path) -> tuple[dict, dict, str]:
    results = json.loads((folder / "results.json").read_text())
    exchanges = json.loads((folder / "exchanges.json").read_text())
    return results, exchanges, (folder / "report.html").read_text()


def _hostile_page(tmp_path: Path) -> Path:
    """A results.json whose gateway answered markup: in a body, a header, a message, a model name."""
    result = {"check_id": "body.schema", "title": "t <b>", "case_id": "chat.basic", "endpoint": "chat",
              "capability": "chat", "operation": "createChatCompletion", "model": 'm"><script>x=1</script>',
              "auth": "bearer", "stream": False, "outcome": "failed", "severity": "error", "message": HOSTILE,
              "spec": "https://platform.openai.com/docs", "exchange": "e1",
              "violations": [{"rule": "r", "message": HOSTILE, "pointer": "/<x>", "spec": "s"}]}
    exchange = {"id": "e1", "method": "POST", "url": "http://gw.example/v1/chat/completions?x=<y>",
                "request_headers": {"authorization": "Bearer REDACTED"}, "request_body": '{"a":"</pre><script>"}',
                "status": 200, "response_headers": {"content-type": "text/html", "x-evil": HOSTILE},
                "body": "<!DOCTYPE html><html><body>" + HOSTILE + "</body></html>", "body_bytes": 300, "events": 0,
                "stop": None, "fault": None, "elapsed": 0.1, "replayed": False}
    results = {"version": 1, "meta": {"target": "<i>t</i>", "base_url": "http://gw.example", "profile": "oimi",
                                      "counts": {}}, "models": [], "results": [result]}
    page = tmp_path / "hostile.html"
    page.write_text(render_page(results, {"e1": exchange}, build_matrix(results)), encoding="utf-8")
    return page


def _chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", '--host-resolver-rules=MAP * ~NOTFOUND', *extra, url],
        capture_output=True, text=True, timeout=90)


def _body_attrs(dom: str) -> dict[str, str]:
    match = re.search(r"<body([^>]*)>", dom)
    assert match, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))


def test_a_run_writes_a_self_contained_page(run_dir):
    results, _, page = _load(run_dir)
    parsed = _parse(page)
    csp = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0].startswith("default-src 'none';")
    # nothing that loads: no src at all, links stay in the page, no CSS import or url()
    assert not [a for _, a in parsed.tags if "src" in a]
    hrefs = [a["href"] for _, a in parsed.tags if a.get("href") is not None]
    assert hrefs and all(h.startswith("#") or h == "data:," for h in hrefs)
    assert [t for t, _ in parsed.tags].count("script") == 1 and [t for t, _ in parsed.tags].count("style") == 1
    assert not re.search(r"url\(|@import|https?://", "".join(parsed.inline))
    assert str(results["meta"]["counts"]["failed"]) in page


def test_every_failed_check_is_there_with_its_exchange_and_curl(run_dir):
    results, exchanges, page = _load(run_dir)
    failed = [r for r in results["results"] if r["outcome"] in ("failed", "error")]
    assert len(failed) >= 6
    for r in failed:
        marker = (f'data-outcome="{r["outcome"]}" data-endpoint="{r["endpoint"]}" data-model="{r["model"] or ""}" '
                  f'data-check="{r["check_id"]}" data-case="{r["case_id"]}"')
        assert re.search(r'<details class="failure[^>]*' + re.escape(marker), page), r["check_id"]
        assert escape(curl(exchanges[r["exchange"]])) in page
    assert "Bearer REDACTED" in page and "sk-sandbox-valid" not in page


def test_gateway_html_is_shown_as_text(run_dir):
    _, _, page = _load(run_dir)
    assert "&lt;!DOCTYPE html&gt;" in page  # the error pages of errors.html-body, escaped
    assert [t for t, _ in _parse(page).tags].count("title") == 1


def test_hostile_markup_is_inert_text(tmp_path):
    page = _hostile_page(tmp_path).read_text()
    parsed = _parse(page)
    assert [t for t, _ in parsed.tags].count("script") == 1  # the page's own
    assert [t for t, _ in parsed.tags].count("img") == 0 and [t for t, _ in parsed.tags].count("style") == 1
    assert all(not (a.get("href") or "#").startswith("http") for _, a in parsed.tags)
    assert "&lt;script&gt;document.body.dataset.pwned" in page


def test_report_command_regenerates_the_page(run_dir, capsys):
    (run_dir / "report.html").unlink()
    assert main(["report", "--html", "--report-dir", str(run_dir)]) == 0
    assert (run_dir / "report.html").is_file() and "report.html" in capsys.readouterr().out
    assert main(["report", "--html", "--report-dir", str(run_dir / "nothing-here")]) == 2


@needs_chromium
@pytest.mark.browser
def test_filters_work_in_a_browser_and_the_page_sends_nothing(run_dir, tmp_path):
    results, _, _ = _load(run_dir)
    matrix = build_matrix(results)
    netlog = tmp_path / "net.json"
    proc = _chromium(tmp_path, (run_dir / "report.html").as_uri() + "#outcome=failed&model=sandbox-chat",
                     "--dump-dom", f"--log-net-log={netlog}", "--enable-logging=stderr", "--v=0")
    body = _body_attrs(proc.stdout)
    expected = [r for r in results["results"] if r["outcome"] == "failed" and r["model"] == "sandbox-chat"]
    assert body["data-ready"] == "1", proc.stderr[-2000:]
    assert int(body["data-visible-results"]) == len(expected) > 0
    assert int(body["data-visible-failures"]) == len(expected)
    assert int(body["data-visible-matrix-rows"]) == 1  # only sandbox-chat's row
    assert len(matrix["models"]) > 1
    # the page started no request (the browser's own, e.g. its update check, have no page as initiator)...
    log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    from_page = [e["params"].get("url") for e in log["events"] if e["type"] == start_job
                 and e.get("params", {}).get("initiator", "not an origin") != "not an origin"]
    assert from_page == []
    # ...and tried none that its Content-Security-Policy refused
    assert "Content Security Policy" not in proc.stderr


@needs_chromium
@pytest.mark.browser
def test_hostile_markup_does_not_run_in_a_browser(tmp_path):
    page = _hostile_page(tmp_path)
    proc = _chromium(tmp_path, page.as_uri() + "#verdict=broken", "--dump-dom", "--enable-logging=stderr", "--v=0")
    body = _body_attrs(proc.stdout)
    assert body["data-ready"] == "1" and "data-pwned" not in body
    assert "&lt;script&gt;document.body.dataset.pwned" in proc.stdout and proc.stdout.count("<script") == 1
    # escaped, the markup never became elements: the CSP (which would also block it) had nothing to refuse
    assert "Content Security Policy" not in proc.stderr


# -- docs/report-screenshot.png: the picture of one pinned run, stamped with that run's counts ----------------

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "report-screenshot.png"
SCREENSHOT_RUN = ["run", "-q", "--sandbox-deviation", "chat.usage-arithmetic", "--sandbox-deviation",
                  "errors.html-body", "--sandbox-deviation", "chat.stream.no-done"]
STAMP = "oimi-conformance-run"  # a PNG tEXt chunk: the arguments and outcome counts of the run pictured
REGENERATE = "OIMI_REGENERATE_SCREENSHOT"


def png_texts(data: bytes) -> dict[str, str]:
    texts, at = {}, 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        at += 12 + length
    return texts


def png_with_text(data: bytes, key: str, value: str) -> bytes:
    body = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


@pytest.fixture(scope="module")
def screenshot_run(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("screenshot")
    assert main([*SCREENSHOT_RUN, "--report-dir", str(folder)]) == 1
    counts = json.loads((folder / "results.json").read_text())["meta"]["counts"]
    return folder, json.dumps({"args": SCREENSHOT_RUN, "counts": counts}, sort_keys=True)


@pytest.mark.slow
def test_the_committed_screenshot_pictures_the_pinned_run(screenshot_run):
    """The README's screenshot cannot drift silently: its stamp must be what the pinned run gives today."""
    _, stamp = screenshot_run
    committed = png_texts(SCREENSHOT.read_bytes()).get(STAMP)
    assert committed == stamp, (f"docs/report-screenshot.png pictures another run than today's pinned one; "
                                f"regenerate it: {REGENERATE}=1 pytest tests/test_html_report.py -k screenshot")


@needs_chromium
@pytest.mark.slow
@pytest.mark.browser
def test_screenshot_of_a_real_report(screenshot_run, tmp_path):
    folder, stamp = screenshot_run
    shot = tmp_path / "report.png"
    _chromium(tmp_path, (folder / "report.html").as_uri(), "--window-size=1280,1250", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a rendered page, not a blank one
    stamped = png_with_text(data, STAMP, stamp)
    assert png_texts(stamped)[STAMP] == stamp
    if os.environ.get(REGENERATE) == "1":  # only on request: a test run never rewrites the docs by itself
        SCREENSHOT.write_bytes(stamped)


def test_write_report_needs_no_exchanges_file(run_dir, tmp_path):
    (tmp_path / "results.json").write_text((run_dir / "results.json").read_text())
    assert "no exchange recorded" in write_report(tmp_path).read_text()
