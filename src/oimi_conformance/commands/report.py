"""``oimi-conformance report``: the human-readable reports of a run, from its report folder.

* ``report.html`` (always regenerated): one self-contained page, see ``html_report``.
* The Allure HTML report, from ``<report-dir>/allure-results`` (written by ``oimi-conformance run
  --alluredir <report-dir>/allure-results``), when
  the Allure command-line tool is installed: it is a Node.js program, not a Python package
  (``npm install -g allure``). It runs offline. Allure 3 builds one self-contained ``index.html``; its
  page template carries a Google Analytics tag that nothing turns off, so this command removes the tag
  (and sets ``ALLURE_NO_ANALYTICS=true``, which the tool's other report styles honour): opening the
  report sends nothing anywhere. Allure 2 (Java) builds a folder to be served with ``allure open``.

Exit codes: 0 built; 2 no results in the folder, or the Allure tool missing or failing (report.html is
still regenerated, and the message says how to get the tool).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..exceptions import UsageError
from ..exits import EXIT_OK, EXIT_TOOL
from ..reporters import AllureResults

ALLURE_RESULTS, ALLURE_REPORT = AllureResults.FOLDER, "allure-report"
TIMEOUT = 600  # seconds for `allure generate`
_ANALYTICS = re.compile(
    r"\s*<script[^>]*\ssrc=\"https://www\.googletagmanager\.com/[^\"]*\"[^>]*>\s*</script>"
    r"(\s*<script>(?:(?!</script>).)*?\bgtag\((?:(?!</script>).)*?</script>)?", re.S)
_EXTERNAL = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\s(?:src|href)=[\"']?((?:https?:)?//[^\"'\s>]+)", re.I)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="regenerate report.html and build the Allure HTML report of a run (offline)",
        description="Regenerate report.html from results.json and exchanges.json and, unless --html, build the "
                    "Allure HTML report from allure-results with the Allure command-line tool "
                    "(npm install -g allure).")
    p.add_argument("--report-dir", default="reports/latest", help="the run's report folder (default: reports/latest)")
    p.add_argument("--html", action="store_true", help="only regenerate report.html")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..html_report import write_report

    report_dir = Path(args.report_dir)
    if not (report_dir / "results.json").is_file():
        raise UsageError(f"no results.json in {report_dir}: run `oimi-conformance run --report-dir {report_dir}` first")
    try:
        page = write_report(report_dir)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{report_dir / 'results.json'} is not a results.json of oimi-conformance: {exc}") from exc
    print(f"report.html: {page} (self-contained; open it in a browser)")
    if args.html:
        return EXIT_OK
    results = report_dir / ALLURE_RESULTS
    out = report_dir / ALLURE_REPORT
    tool = shutil.which("allure")
    if tool is None:
        print("oimi-conformance: the Allure command-line tool is not installed, so only report.html was built. "
              "The tool is a Node.js program, not a Python package: install it with `npm install -g allure`, then "
              f"run `oimi-conformance report --report-dir {report_dir}` again. (`npx allure generate {results} -o "
              f"{out}` works without installing, but that page loads Google Analytics when opened; this command "
              "removes the tag.)", file=sys.stderr)
        return EXIT_TOOL
    if not results.is_dir() or not any(results.glob("*-result.json")):
        print(f"oimi-conformance: no Allure results in {results}: `oimi-conformance run --report-dir {report_dir} "
              f"--alluredir {results}` writes them", file=sys.stderr)
        return EXIT_TOOL
    return generate(tool, results, out, _report_name(report_dir))


def _report_name(report_dir: Path) -> str:
    try:
        meta = json.loads((report_dir / "results.json").read_text(encoding="utf-8")).get("meta", {})
    except ValueError:
        meta = {}
    return f"oimi-conformance: {meta.get('target') or 'target'} ({meta.get('profile') or 'profile'})"


def allure_version(tool: str) -> str:
    try:
        proc = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    match = re.search(r"\b(\d+\.\d+(?:\.\d+)?)\b", proc.stdout + proc.stderr)
    return match.group(1) if match else ""


def generate(tool: str, results: Path, out: Path, name: str) -> int:
    """``allure generate``, offline; 0 when the report was built."""
    version = allure_version(tool)
    major = int(version.split(".")[0]) if version else 3
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}
    results, out = results.resolve(), out.resolve()
    if out.exists():  # a stale report of an earlier run; Allure 3 has no --clean
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory(prefix="oimi-allure-") as tmp:
        if major >= 3:
            config = Path(tmp) / "allurerc.json"  # an explicit config: none from the working directory applies
            config.write_text(json.dumps({"name": name, "plugins": {"awesome": {"options": {
                "singleFile": True, "reportName": name, "groupBy": ["epic", "feature", "story"]}}}}),
                encoding="utf-8")
            command = [tool, "generate", "--config", str(config), str(results), "-o", str(out)]
        else:
            command = [tool, "generate", str(results), "-o", str(out), "--clean"]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=tmp)
        except subprocess.TimeoutExpired:
            print(f"oimi-conformance: `allure generate` did not finish within {TIMEOUT} s", file=sys.stderr)
            return EXIT_TOOL
    index = out / "index.html"
    if proc.returncode != 0 or not index.is_file():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        print(f"oimi-conformance: `{' '.join(command)}` failed (exit {proc.returncode}):\n{tail}", file=sys.stderr)
        return EXIT_TOOL
    removed, external = make_offline(index)
    note = "; its Google Analytics tag removed" if removed else ""
    if major >= 3:
        print(f"Allure report: {index} (Allure {version}: one self-contained file, open it in a browser{note})")
    else:
        print(f"Allure report: {out} (Allure {version or '2'}: serve it with `allure open {out}`{note})")
    for url in external:
        print(f"oimi-conformance: warning: the Allure report still loads {url} when opened", file=sys.stderr)
    return EXIT_OK


def make_offline(index: Path) -> tuple[int, list[str]]:
    """Remove the Google Analytics tag of Allure's page template; return how many were removed and the
    external URLs the page's own tags still load."""
    text = index.read_text(encoding="utf-8")
    text, removed = _ANALYTICS.subn("", text)
    if removed:
        index.write_text(text, encoding="utf-8")
    return removed, sorted(set(_EXTERNAL.findall(text)))
