"""The pytest surface of oimi-conformance, registered through the ``pytest11`` entry point.

For application teams: the ``oimi_conforms`` fixture judges any body their own tests capture,
so a failing assertion lists each violated rule with its pointer and spec reference.
"""

from __future__ import annotations

from typing import Any, Protocol

import pytest

from .errors import ContractViolation
from .kinds import Verdict, judge


class Conforms(Protocol):
    def __call__(self, kind: str, body: bytes | str, request: dict[str, Any] | None = None) -> Verdict: ...


def assert_conforms(kind: str, body: bytes | str, request: dict[str, Any] | None = None) -> Verdict:
    """Judge ``body`` as ``kind``; raise ContractViolation naming every broken rule."""
    verdict = judge(kind, body, request)
    if not verdict.ok:
        lines = "\n".join(f"  {v}" for v in verdict.violations)
        raise ContractViolation(f"body does not conform to {kind}:\n{lines}", verdict.violations)
    return verdict


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "oimi_kind(name): the body kind a test's captured response must conform to")


@pytest.fixture
def oimi_conforms() -> Conforms:
    """``oimi_conforms(kind, body, request=None)`` asserts that a captured body conforms to the spec."""
    return assert_conforms
