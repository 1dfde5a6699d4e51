"""The check catalogue: every check has a stable public id, a title, a severity and a spec reference.

A check is a plain function of a ``CheckContext``. It returns when the property holds, calls
``ctx.fail`` (a ContractViolation) when it does not, and ``ctx.skip`` when the case gives it
nothing to judge. Ids are published: never rename one.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from ..exceptions import ContractViolation, HarnessError, UsageError
from ..results import SEVERITIES, Severity
from ..violations import Violation

if TYPE_CHECKING:
    from ..cases import Case, Step
    from ..exchange import Exchange
    from ..kinds import Verdict
    from ..profile import Profile
    from ..results import Unsupported


class CheckSkipped(HarnessError):
    """Raised by a check that has nothing to judge in this case (the reason says why). ``unsupported``:
    set when the reason is that the gateway or model does not serve it (``results.Unsupported``)."""

    def __init__(self, reason: str, unsupported: Unsupported | None = None) -> None:
        super().__init__(reason)
        self.unsupported = unsupported


Ctx = TypeVar("Ctx")  # what a check judges: a CheckContext (a case run's exchanges), or an SDK's SdkContext


@dataclass(frozen=True)
class Check(Generic[Ctx]):
    id: str
    title: str
    severity: Severity
    spec: str
    applies: Callable[[Case], bool]
    func: Callable[[Ctx], None]
    needs_timing: bool = False  # judged from arrival times: skipped on replay
    area: str = ""

    @property
    def doc(self) -> str:
        return (self.func.__doc__ or "").strip()


REGISTRY: dict[str, Check[Any]] = {}


def check(id: str, title: str, *, spec: str, applies: Callable[[Case], bool], severity: Severity = "error",
          needs_timing: bool = False) -> Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]:
    """Register a check under its public id."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")

    def register(func: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        existing = REGISTRY.get(id)
        if existing is not None and existing.func.__module__ != func.__module__:
            raise RuntimeError(f"check id {id!r} registered twice ({existing.func.__module__}, {func.__module__})")
        REGISTRY[id] = Check(id=id, title=title, severity=severity, spec=spec, applies=applies, func=func,
                             needs_timing=needs_timing, area=id.split(".", 1)[0])
        return func
    return register


def select(patterns: list[str] | None = None, exclude: list[str] | None = None) -> list[Check[Any]]:
    """Checks whose id matches any of ``patterns`` (globs; all when empty) and none of ``exclude``."""
    from . import load_all

    load_all()
    chosen = [c for c in REGISTRY.values()
              if (not patterns or any(fnmatch.fnmatchcase(c.id, p) for p in patterns))
              and not any(fnmatch.fnmatchcase(c.id, p) for p in exclude or [])]
    if patterns and not chosen:
        raise UsageError(f"no check matches {patterns}; see `oimi-conformance checks`")
    return sorted(chosen, key=lambda c: c.id)


# -- selectors: what a check applies to, stated once ---------------------------------------------

def has_tag(*tags: str) -> Callable[[Case], bool]:
    return lambda case: bool(case.tags & set(tags))


def main_kind(*kinds: str) -> Callable[[Case], bool]:
    return lambda case: case.steps[0].expect.kind in kinds


def expects_success(case: Case) -> bool:
    return case.steps[0].expect.success


def every_case(case: Case) -> bool:
    return True


def all_of(*preds: Callable[[Case], bool]) -> Callable[[Case], bool]:
    return lambda case: all(p(case) for p in preds)


# -- the context a check judges -----------------------------------------------------------------

@dataclass
class CheckContext:
    """One case as run against one model: its steps' exchanges, and what it is judged by."""

    check: Check[CheckContext]
    case: Case
    model: str | None
    profile: Profile
    exchanges: dict[str, Exchange]
    auth_label: str = ""
    claimed: bool | None = None  # the gateway's claim that this model supports the case's endpoint
    run_facts: dict[str, Any] = field(default_factory=dict)  # what the run learned (e.g. model claims)

    @property
    def step(self) -> Step:
        return self.case.steps[0]

    @property
    def exchange(self) -> Exchange:
        return self.exchanges[self.case.steps[0].name]

    def exchange_of(self, step: str) -> Exchange:
        try:
            return self.exchanges[step]
        except KeyError:
            self.skip(f"step {step!r} was not sent")

    @property
    def json(self) -> Any:
        return self.exchange.json

    @property
    def request(self) -> Any:
        return self.exchange.request_json

    @cached_property
    def verdict(self) -> Verdict:
        """The main step's body judged against its kind (schema or stream grammar)."""
        from ..judging import judge_exchange

        return judge_exchange(self.exchange, self.step)

    def fail(self, message: str, violations: list[Violation] | None = None) -> NoReturn:
        raise ContractViolation(message, violations)

    def skip(self, reason: str, unsupported: Unsupported | None = None) -> NoReturn:
        raise CheckSkipped(reason, unsupported)

    def require_success(self, step: str | None = None) -> Exchange:
        """The exchange of ``step`` when it answered 2xx; otherwise skip (status checks report it)."""
        exchange = self.exchange if step is None else self.exchange_of(step)
        if exchange.status is None or not 200 <= exchange.status < 300:
            self.skip(f"no successful answer to judge (HTTP {exchange.status}); see http.expected-status")
        return exchange

    def require_object(self, step: str | None = None) -> dict[str, Any]:
        """The step's successful answer as a JSON object; otherwise skip (body.schema reports it)."""
        body = self.require_json(step)
        if not isinstance(body, dict):
            self.skip("the answer is not a JSON object; see body.schema")
        return body

    def require_json(self, step: str | None = None) -> Any:
        exchange = self.require_success(step)
        if not isinstance(exchange.json, (dict, list)):
            self.skip("the answer is not a JSON document; see body.schema")
        return exchange.json
