"""The test items of the suites: one per (check, case run), judged by the engine.

A suite file (``suites/test_<area>.py``) declares ``OIMI_AREAS`` and one test function taking ``oimi_result``
(and ``oimi_exchanges``). Its items are ``CheckItem``s: the same node ids, names, keywords and outcomes as the
parametrized functions pytest would make (``test_http[http.status@chat.basic[sandbox-omni]]``), without
pytest's fixture machinery around each one, which cost more than the judging (about 2,300 items in a default
run). The judging happens while the item is set up, as the ``oimi_result`` fixture's did, so a transport
fault is a pytest *error* and a broken contract a *failure*. A suite function pytest must parametrize itself
(other fixtures, marks, ids pytest would escape or make unique) keeps the fixtures (``pytest_plugin``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from . import allure_support as _allure
from .exceptions import TransportFault
from .prepared_run import PreparedRun, run_of
from .results import CheckResult, Outcome
from .safe_text import terminal

ITEM_ARGS = frozenset({"oimi_result", "oimi_exchanges"})  # what a CheckItem hands its suite function
ALLURE_ITEM = pytest.StashKey[tuple[Any, Any, Any, Any]]()  # (check, case run, result, redactor) for describe
_HERE = Path(__file__)


def areas_pairs(run: PreparedRun, module: Any) -> list[tuple[Any, Any]]:
    """The (check, case run) pairs of a suite module: those of its ``OIMI_AREAS`` (all when it names none)."""
    areas = getattr(module, "OIMI_AREAS", None)
    if run.error is not None:
        pytest.exit(f"oimi-conformance: error: {run.error}", returncode=pytest.ExitCode.USAGE_ERROR)
    return [(c, r) for c, r in run.pairs if areas is None or c.area in areas]


def judge(node: pytest.Item, check: Any, case_run: Any) -> CheckResult:
    """The judged result of ``check`` on ``case_run`` for this item (the first one sends every selected
    exchange); recorded for results.json, junit's properties and Allure. A transport fault raises."""
    run = run_of(node.config)
    allure = _allure.active(node.config)
    if allure:  # before anything can fail: allure-pytest must never represent the raw (check, case run) pair
        _allure.label(check, case_run, f"{check.id}@{case_run.id}")
    run.engine.exchange(run.selected)
    result = run.engine.judge_one(check, case_run, run.engine.facts)
    run.results[f"{check.id}@{case_run.id}"] = result
    node.user_properties.extend([("check_id", result.check_id), ("case_id", result.case_id),
                                 ("model", result.model or ""), ("outcome", result.outcome)])
    if allure:
        node.stash[ALLURE_ITEM] = (check, case_run, result, run.engine.redactor)
    if result.outcome == Outcome.ERROR:
        raise TransportFault(terminal(result.message))
    return result


def exchange_dicts(run: PreparedRun) -> dict[str, Any]:
    """Every exchange of the run as exchanges.json holds it, made once: the diagnoses of failures show them."""
    if run.exchange_dicts is None:
        run.exchange_dicts = {e.id: e.as_dict() for r in run.engine.runs for e in r.exchanges.values()}
    return run.exchange_dicts


class CheckItem(pytest.Item):
    """One check judged on one case run; see the module's docstring."""

    def __init__(self, *, check: Any, case_run: Any, func: Any, wants_exchanges: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check, self.case_run, self.func, self.wants_exchanges = check, case_run, func, wants_exchanges
        self.result: CheckResult | None = None

    def setup(self) -> None:
        self.result = judge(self, self.check, self.case_run)

    def runtest(self) -> None:
        assert self.result is not None  # set up first, by pytest
        if self.wants_exchanges:
            self.func(oimi_result=self.result, oimi_exchanges=exchange_dicts(run_of(self.config)))
        else:
            self.func(oimi_result=self.result)

    def reportinfo(self) -> tuple[Path, int, str]:
        # as a test function's: its file, the line of its def (0-based) and the item's name
        return self.path, self.func.__code__.co_firstlineno - 1, self.name

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> Any:
        if excinfo.errisinstance(pytest.xfail.Exception):
            # a known deviation: pytest shows its reason (the exception's message), never this traceback of the
            # harness's own plumbing, which costs a parse of each file in it
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def _traceback_filter(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        # from the harness's frames on, as a test function's traceback starts at the function: not pytest's
        cut = excinfo.traceback.cut(path=_HERE)
        return (cut if len(cut) else excinfo.traceback).filter(excinfo)


def make_items(collector: pytest.Collector, name: str, obj: Any) -> list[CheckItem] | None:
    """The CheckItems of a suite's test function, or None for pytest to parametrize it as usual."""
    if not isinstance(collector, pytest.Module) or not inspect.isfunction(obj) \
            or not collector.istestfunction(obj, name):
        return None
    params = set(inspect.signature(obj).parameters)
    if "oimi_result" not in params or not params <= ITEM_ARGS or getattr(obj, "pytestmark", None):
        return None
    pairs = areas_pairs(run_of(collector.config), collector.module)
    ids = [f"{c.id}@{r.id}" for c, r in pairs]
    # pytest's own parametrization for what it would name differently: none (one item skipped as an empty
    # parameter set), an id it escapes (not ASCII) or makes unique (a duplicate)
    if not ids or not all(i.isascii() and i.isprintable() for i in ids) or len(set(ids)) != len(ids):
        return None
    wants = "oimi_exchanges" in params
    return [CheckItem.from_parent(collector, name=f"{name}[{item_id}]", check=c, case_run=r, func=obj,
                                  wants_exchanges=wants) for item_id, (c, r) in zip(ids, pairs, strict=True)]
