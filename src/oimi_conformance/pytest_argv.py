"""The one pytest command line of ``oimi-conformance run`` and ``oimi-conformance fuzz``.

Both run a folder of suites shipped with the harness in a pytest session of its own: no cache, the folder as
root, none of the caller's ``addopts``, short tracebacks, and the reports pytest's plugins write
(``reporters.PytestReport``: junit.xml always, Allure results when asked). The caller's ``-- ARGS`` come last,
so they override everything before them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .exceptions import UsageError
from .reporters import PytestReport

# pytest plugins (entry-point names) installed beside the harness that `run`'s suites never use: not loaded
# (schemathesis alone costs half a second of imports; pytest-timeout stays: the ini files name its option)
SUITES_UNUSED_PLUGINS = ("xdist", "xdist.looponfail", "hypothesispytest", "anyio", "schemathesis")
# pytest's own plugins that wrap every phase of every item in a context the suites never need (capturing log
# records, catching warnings: a tenth of the per-item cost), with the arguments that ask for them
PER_ITEM_PLUGINS = {"logging": ("--log", "log_"), "warnings": ("-W", "--pythonwarnings", "filterwarnings")}


def per_item_plugins_unused(pytest_args: Sequence[str]) -> list[str]:
    """The per-item plugins no argument of ``pytest_args`` asks for (e.g. ``--log-cli-level``, ``-W error``)."""
    return [name for name, marks in PER_ITEM_PLUGINS.items()
            if not any(arg.startswith(marks) for arg in pytest_args)]


def suites_folder(*parts: str, marker: str) -> Path:
    """A folder of the shipped suites (``suites/`` beside the sources, or ``_suites/`` in a wheel), found by a
    file it must hold."""
    package = Path(__file__).resolve().parent
    for root in (package.parents[1] / "suites", package / "_suites"):
        candidate = root.joinpath(*parts)
        if (candidate / marker).is_file():
            return candidate
    raise UsageError(f"the {'/'.join(('suites', *parts))} folder is missing from this installation")


def build(folder: Path, *, quiet: bool, report_dir: Path, reports: Sequence[PytestReport],
          options: Sequence[str] = (), disabled_plugins: Sequence[str] = (), plain_assert: bool = False,
          pytest_args: Sequence[str] = ()) -> list[str]:
    """pytest's argv for the suites in ``folder``: ``options`` are the command's own (e.g. ``-k``),
    ``disabled_plugins`` entry-point names not to load, ``plain_assert`` no assertion rewriting."""
    return [str(folder), "-p", "no:cacheprovider", *(f"-pno:{name}" for name in disabled_plugins),
            *(["--assert=plain"] if plain_assert else []),
            "--rootdir", str(folder), "-o", "addopts=",
            "-q" if quiet else "-rfE", "--tb=short", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *(arg for report in reports for arg in report.pytest_args(report_dir)), *options, *pytest_args]
