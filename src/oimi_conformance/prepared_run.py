"""The run behind one pytest session of the suites: its options, target, engine, plan and results.

``oimi-conformance run`` prepares it before pytest starts (so a bad option or an unreachable target is one
line, exit 2) and hands it in as a plugin; plain ``pytest suites`` prepares it lazily, when a suite is
collected (``run_of``). The pytest plugin (``pytest_plugin.py``), the SDK suite (``sdk.py``) and fuzzing
reach it through ``run_of`` / ``prepared``, never through each other's internals.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

from .exceptions import HarnessError
from .results import CheckResult

if TYPE_CHECKING:
    from .run_options import Options
    from .sdk import SdkTarget


def options_from_pytest(config: pytest.Config) -> Options:
    """The run's options from pytest's command line (pytest-timeout owns --timeout: ours is --oimi-timeout)."""
    from .run_options import options_from

    return options_from(lambda name: config.getoption("oimi_timeout" if name == "timeout" else name))


class PreparedRun:
    """The run behind one pytest session; see the module's docstring."""

    def __init__(self, options: Options, progress: bool = True) -> None:
        from .target import Target

        self.options = options
        self.progress = progress
        self.target = Target(options)
        self.engine: Any = None
        self.pairs: list[Any] = []
        self.results: dict[str, CheckResult] = {}
        self.error: str | None = None
        self.exchange_dicts: dict[str, Any] | None = None
        self.reporter: Any = None
        self.selected: set[int] | None = None  # case runs of the collected items, after -k and deselection
        self._sdk_target: SdkTarget | None = None

    def prepare(self) -> None:
        if self.engine is not None:
            return
        from .engine import Engine

        run_config = self.target.__enter__()
        run_config.progress = self._progress
        self.engine = Engine(run_config)
        self.pairs = self.engine.prepare()

    def sdk_target(self) -> SdkTarget:
        """The run's target as the official SDKs see it (``suites/sdk``): made by the first SDK check, kept for
        the others (which model served which endpoint carries over)."""
        if self._sdk_target is None:
            from .sdk import target_of

            self._sdk_target = target_of(self.engine)
        return self._sdk_target

    def _progress(self, message: str) -> None:
        # the exchange runs inside the first test, whose output pytest captures (at the fd level):
        # the line goes out with capturing suspended, as pytest's own reports do
        if not self.progress or self.reporter is None:
            return
        capman = self.reporter.config.pluginmanager.getplugin("capturemanager")
        suspended = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        with suspended:
            self.reporter.write_line(f"oimi-conformance: {message}")

    def close(self) -> None:
        self.target.__exit__()

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[_RUN_KEY] = self


_RUN_KEY = pytest.StashKey[PreparedRun]()


def prepared(config: pytest.Config) -> PreparedRun | None:
    """This session's run as it stands (None when no suite asked for one), without preparing it."""
    return config.stash.get(_RUN_KEY, None)


def run_of(config: pytest.Config) -> PreparedRun:
    """This session's run, made from pytest's options and prepared on first use; a usage problem is kept in
    ``error`` for the caller to end the session with."""
    run = config.stash.get(_RUN_KEY, None)
    if run is None:
        run = PreparedRun(options_from_pytest(config))
        config.stash[_RUN_KEY] = run
    if run.engine is None and run.error is None:
        try:
            run.prepare()
        except HarnessError as exc:
            run.error = str(exc)
    run.reporter = config.pluginmanager.get_plugin("terminalreporter")
    return run
