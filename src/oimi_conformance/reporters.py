"""The reports of a run behind one small interface, as schemathesis's event handlers are.

A ``Reporter`` writes one report of a finished run from its ``RunRecord``. ``RECORD_REPORTERS`` are the ones
every command that ends a run writes, in this order: ``results`` (results.json and exchanges.json), ``matrix``
(matrix.json and matrix.md) and ``html`` (report.html). The pytest session's end, ``matrix`` and ``merge``
iterate them through ``write_reports``.

JUnit XML and Allure results are written by pytest's own plugins while the items run (``--junitxml``,
allure-pytest's ``--alluredir``): they are ``PytestReport``s, which say what pytest must be asked
(``pytest_argv.build``). Allure results are written only when asked: one file or more per check result,
they cost more than the exchanges and the judging together.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from .results import RunRecord


@dataclass
class FinishedRun:
    """A finished run as the reporters read it: its record, and the record's document (results.json's content),
    made once for all of them."""

    record: RunRecord

    @cached_property
    def document(self) -> dict[str, Any]:
        return self.record.as_dict()


class Reporter(Protocol):
    @property
    def name(self) -> str: ...

    def write(self, run: FinishedRun, report_dir: Path) -> Path:
        """Write this report of ``run`` into ``report_dir`` (which exists); the file to point a person at."""
        ...


class PytestReport(Protocol):
    """A report a pytest plugin writes while the items run: the harness only asks for it."""

    @property
    def name(self) -> str: ...

    def pytest_args(self, report_dir: Path) -> list[str]: ...


class ResultsJson:
    """results.json (schema ``specs/schemas/report/results.json``) and exchanges.json beside it."""

    name = "results"

    def write(self, run: FinishedRun, report_dir: Path) -> Path:
        path = report_dir / "results.json"
        path.write_text(json.dumps(run.document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        (report_dir / "exchanges.json").write_text(json.dumps(run.record.exchanges, indent=1) + "\n",
                                                   encoding="utf-8")
        return path


class MatrixFiles:
    """matrix.json (schema ``specs/schemas/report/matrix.json``) and matrix.md: the capability matrix of the
    run's probe cases."""

    name = "matrix"

    def write(self, run: FinishedRun, report_dir: Path) -> Path:
        from .matrix import build_matrix, matrix_markdown
        from .safe_text import clean_value

        # a gateway's text may hold lone surrogates, which UTF-8 cannot: they become U+FFFD, never an error
        matrix = clean_value(build_matrix(run.document))
        (report_dir / "matrix.json").write_text(json.dumps(matrix, indent=1, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
        path = report_dir / "matrix.md"
        path.write_text(matrix_markdown(matrix), encoding="utf-8")
        return path


class HtmlPage:
    """report.html, the self-contained page (``html_report``)."""

    name = "html"

    def write(self, run: FinishedRun, report_dir: Path) -> Path:
        from .html_report import write_report

        return write_report(report_dir, run.document, run.record.exchanges)


@dataclass(frozen=True)
class JUnitXml:
    """junit.xml beside results.json, by pytest's own ``--junitxml`` (pytest arguments after ``--`` may
    override it)."""

    suite_name: str
    name: str = "junit"

    def pytest_args(self, report_dir: Path) -> list[str]:
        return [f"--junitxml={report_dir / 'junit.xml'}", "-o", f"junit_suite_name={self.suite_name}"]


@dataclass(frozen=True)
class AllureResults:
    """Allure results in ``folder`` (emptied first), by allure-pytest, titled and attached by
    ``allure_support``; ``oimi-conformance report`` builds the Allure report from them."""

    folder: str
    name: str = "allure"
    FOLDER = "allure-results"  # its place in a report folder, where `report` and `merge` look

    def pytest_args(self, report_dir: Path) -> list[str]:
        return ["--alluredir", self.folder, "--clean-alluredir"]

    @classmethod
    def merge(cls, folders: Iterable[Path], out: Path) -> Path | None:
        """The Allure results of several report folders, side by side in ``out``: each result is one file,
        uniquely named, so copying them is a merge. None when no folder has any."""
        merged = out / cls.FOLDER
        found = False
        for folder in folders:
            if (folder / cls.FOLDER).is_dir():
                merged.mkdir(parents=True, exist_ok=True)
                found = True
                for item in (folder / cls.FOLDER).iterdir():
                    if item.is_file():
                        shutil.copy2(item, merged / item.name)
        return merged if found else None


RECORD_REPORTERS: tuple[Reporter, ...] = (ResultsJson(), MatrixFiles(), HtmlPage())
DATA_REPORTERS: tuple[Reporter, ...] = RECORD_REPORTERS[:2]  # without the page (fuzzing writes it after merging)


def write_reports(record: RunRecord, report_dir: Path,
                  reporters: Sequence[Reporter] = RECORD_REPORTERS) -> dict[str, Path]:
    """Every reporter's report of ``record`` in ``report_dir``: reporter name -> the file it wrote."""
    report_dir.mkdir(parents=True, exist_ok=True)
    run = FinishedRun(record)
    return {reporter.name: reporter.write(run, report_dir) for reporter in reporters}
