"""The project's own tests cannot be satisfied by construction: no assertion or-ed with a constant truth, no
import of the project's own modules that turns an import error into a skip, no machine path for the recorded
real traffic, and a missing corpus fails in CI instead of skipping."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from . import real_traffic as corpus

TESTS = Path(__file__).parent
SOURCES = sorted(p for p in TESTS.rglob("*.py") if p.name != Path(__file__).name)


def _asserts(tree: ast.AST) -> list[ast.Assert]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]


def _always_true(node: ast.expr) -> bool:
    """An expression some branch of which makes the whole test a constant truth (``x or True``, ``x or 1``)."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return any(_always_true(v) or (isinstance(v, ast.Constant) and bool(v.value)) for v in node.values)
    return isinstance(node, ast.Constant) and bool(node.value)


def test_the_finder_sees_an_or_true():
    tree = ast.parse("assert {1} >= {2} or True\nassert x == 1 or (y and 0) or 'yes'\nassert a or b")
    assert [_always_true(a.test) for a in _asserts(tree)] == [True, True, False]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTS)))
def test_no_assertion_is_true_by_construction(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [f"line {a.lineno}" for a in _asserts(tree) if _always_true(a.test)]
    assert bad == [], f"{path.name}: assertions that cannot fail: {bad}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTS)))
def test_own_modules_are_imported_not_importorskipped(path):
    """An import error in the harness must fail its tests, not skip them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [f"line {node.lineno}" for node in ast.walk(tree)
           if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "importorskip"
           and node.args and isinstance(node.args[0], ast.Constant)
           and str(node.args[0].value).startswith("oimi_conformance")]
    assert bad == [], f"{path.name}: importorskip of the project's own module: {bad}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(TESTS)))
def test_real_traffic_is_found_by_the_one_resolver(path):
    text = path.read_text(encoding="utf-8")
    if path.name == "real_traffic.py":
        return
    assert "/work/shared" not in text and '"real-traffic"' not in text, \
        f"{path.name} hard-codes where the real traffic is; use tests/real_traffic.py (TRAFFIC_DIR, exchanges)"


def test_missing_real_traffic_skips_on_a_laptop_and_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        corpus.require_traffic(tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        corpus.require_traffic(tmp_path)


def test_the_corpus_is_present_where_the_resolver_looks(real_traffic):
    """Skipped off CI when the corpus is absent; in CI, where it must be there, its absence fails here."""
    assert real_traffic == corpus.TRAFFIC_DIR and corpus.exchanges()
