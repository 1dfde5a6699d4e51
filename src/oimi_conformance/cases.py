"""Probe cases: the requests a run sends, as data (``specs/cases/*.yaml``).

A case is one question put to the gateway, made of one or more steps (most have one; a
round trip such as compact-then-reuse has two). Checks do not name cases: they select the
cases they judge by kind, tag and expectation, so adding a case gives it every relevant check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .endpoints import probe_ids
from .exceptions import UsageError
from .specdir import load_data, spec_root

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str  # template, e.g. /v1beta/models/{model}:generateContent


@cache
def operations() -> dict[str, Operation]:
    """operationId -> method and path, read from ``specs/openapi.yaml``."""
    spec = load_data("openapi.yaml")
    out = {}
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict) and op.get("operationId"):
                out[op["operationId"]] = Operation(op["operationId"], method.upper(), path)
    return out


@dataclass(frozen=True)
class Expect:
    """What a step must get back: a status class and either a body kind or an error envelope."""

    status: tuple[int, ...] = ()  # exact statuses allowed; empty with success=True means any 2xx
    success: bool = True
    kind: str | None = None  # the body kind of a successful answer
    profile_status: str | None = None  # take the allowed statuses from the profile, e.g. "unknown_model"

    def allows(self, status: int, profile_statuses: tuple[int, ...] = ()) -> bool:
        allowed = self.status or profile_statuses
        if allowed:
            return status in allowed
        return 200 <= status < 300 if self.success else 400 <= status < 500


@dataclass(frozen=True)
class Step:
    name: str
    operation: str
    body: Any = None  # JSON body template ({model}; {"$from": "step.path"} from earlier steps; {"$concat": [...]})
    raw_body: str | None = None  # sent verbatim instead of JSON (malformed-input cases)
    auth: str = "default"  # a style of specs/auth.yaml, "default" (the family's first), or "negative:<name>"
    key: str = "main"  # which key: main, no-quota, rate-limited, restricted
    stream: bool = False
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None  # override the operation's method (wrong-method cases)
    path: str | None = None  # override the operation's path (unknown-route cases)
    retry_429: bool = True
    expect: Expect = Expect()
    url_from: str | None = None  # GET the URL an earlier answer handed back ("main.data.0.url"), with no key


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    family: str  # auth family: openai | anthropic | gemini
    endpoint: str  # capability endpoint: chat, responses, compact, messages, gemini, embeddings, rerank, images, models
    capability: str  # e.g. chat.tools; the matrix cell this case probes
    steps: tuple[Step, ...]
    tags: frozenset[str] = frozenset()
    per_model: bool = True  # False: run once, on the endpoint's first model
    optional: bool = False  # a clean 4xx means "unsupported by this model" (a skip), not a failure
    needs_key: str | None = None  # an extra key this case needs (skipped when not given)
    probe: bool = False  # the one case whose answer gives its capability's cell in the matrix
    # profiles the case belongs to (empty: every profile): a case about one kind of gateway (new-api's
    # credential precedence) is not run against another kind
    profiles: frozenset[str] = frozenset()
    spec: str = ""
    source: str = ""

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


def _expect(data: dict[str, Any] | None) -> Expect:
    data = data or {}
    status = data.get("status", "2xx")
    if isinstance(status, int):
        status = [status]
    if status == "2xx":
        return Expect(success=True, kind=data.get("kind"))
    if status == "4xx":
        return Expect(success=False, profile_status=data.get("profile_status"))
    return Expect(status=tuple(status), success=all(200 <= s < 300 for s in status), kind=data.get("kind"),
                  profile_status=data.get("profile_status"))


def _step(data: dict[str, Any], index: int) -> Step:
    known = {"name", "operation", "body", "raw_body", "auth", "key", "stream", "query", "headers", "method",
             "path", "retry_429", "expect", "url_from"}
    unknown = set(data) - known
    if unknown:
        raise UsageError(f"unknown step field(s) {sorted(unknown)}; allowed: {sorted(known)}")
    return Step(
        name=data.get("name", f"step{index}" if index else "main"),
        operation=data["operation"],
        body=data.get("body"),
        raw_body=data.get("raw_body"),
        auth=data.get("auth", "default"),
        key=data.get("key", "main"),
        stream=bool(data.get("stream", False)),
        query=dict(data.get("query", {})),
        headers=dict(data.get("headers", {})),
        method=data.get("method"),
        path=data.get("path"),
        retry_429=bool(data.get("retry_429", True)),
        expect=_expect(data.get("expect")),
        url_from=data.get("url_from"),
    )


@cache
def load_cases() -> tuple[Case, ...]:
    """Every case of ``specs/cases/*.yaml``, checked for unique ids and known operations."""
    cases: list[Case] = []
    ops = operations()
    probes = probe_ids()  # the matrix's probe cases are named in specs/endpoints.yaml
    for path in sorted((spec_root() / "cases").glob("*.yaml")):
        data = load_data(f"cases/{path.name}")
        defaults = {k: data[k] for k in ("family", "endpoint") if k in data}
        for entry in data.get("cases", []):
            entry = {**defaults, **entry}
            where = f"specs/cases/{path.name}: {entry.get('id')}"
            try:
                steps = tuple(_step(s, i) for i, s in enumerate(entry["steps"]))
                case = Case(
                    id=entry["id"], title=entry["title"], family=entry["family"], endpoint=entry["endpoint"],
                    capability=entry.get("capability", entry["endpoint"]), steps=steps,
                    tags=frozenset(entry.get("tags", [])), per_model=entry.get("per_model", True),
                    optional=entry.get("optional", False), needs_key=entry.get("needs_key"),
                    probe=entry["id"] in probes, spec=entry.get("spec", ""),
                    profiles=frozenset(entry.get("profiles", [])),
                    source=f"specs/cases/{path.name}",
                )
            except (KeyError, TypeError) as exc:
                raise UsageError(f"{where}: malformed case ({exc})") from exc
            if "probe" in entry:
                raise UsageError(f"{where}: `probe` is not a case field; a capability names its probe case in "
                                 "specs/endpoints.yaml")
            if case.probe and probes[case.id] != case.capability:
                raise UsageError(f"{where}: probe case of {probes[case.id]} in specs/endpoints.yaml, but its "
                                 f"capability is {case.capability}")
            for step in case.steps:
                if step.operation not in ops and not step.url_from:
                    raise UsageError(f"{where}: unknown operation {step.operation!r}")
            cases.append(case)
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise UsageError(f"duplicate case ids: {dupes}")
    for case in cases:
        if case.probe and (not case.per_model or len(case.steps) != 1):
            raise UsageError(f"{case.source}: {case.id}: a probe case is per model and sends one request")
    return tuple(cases)


def probe_cases() -> dict[str, Case]:
    """capability -> the one case (named in ``specs/endpoints.yaml``) whose answer is that capability's matrix cell."""
    return {c.capability: c for c in load_cases() if c.probe}
