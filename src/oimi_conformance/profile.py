"""Profiles: what a target is expected to do, one TOML file per gateway kind (``specs/profiles``).

Expectations files (``specs/expectations/<target>.toml``) list known deviations of one target as
expected failures with a reason, in the manner of web-platform-tests' metadata: a case is never
deleted to make a target pass.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import UsageError
from .specdir import spec_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENVELOPES = ("openai", "anthropic", "google")
RULE_SOURCES = ("official", "oimi")


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    undocumented_style: str  # "reject" | "report"
    envelopes: dict[str, tuple[str, ...]]  # auth family -> accepted error envelopes
    statuses: dict[str, tuple[int, ...]]  # named situations -> accepted statuses
    check_claims: bool
    source: str
    # expectations files applied when none is named: the known, cited deviations of the gateway this
    # profile describes (oimi: new-api's), so a healthy target is green with them shown as xfailed
    expectations: tuple[str, ...] = ()
    # Retry-After on a 429 is a MAY (RFC 6585 section 4): only a profile that demands it fails its absence
    require_retry_after: bool = False
    first_event_s: float = 20.0  # delivery.first-event: seconds from sending to a stream's first event
    headers: dict[str, str] = field(default_factory=dict)  # [headers]: sent with every request (headers.py)
    # [rules] sources: whose rules this profile judges: "official" (OpenAI's, Anthropic's, Google's references)
    # and "oimi" (rules only the Oimi reference states, such as refusing `Authorization: Basic <key>`)
    rule_sources: tuple[str, ...] = RULE_SOURCES

    def judges(self, source: str) -> bool:
        return source in self.rule_sources

    def envelopes_for(self, family: str) -> tuple[str, ...]:
        return self.envelopes.get(family, ("openai",))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


def profile_names() -> list[str]:
    return sorted(p.stem for p in (spec_root() / "profiles").glob("*.toml"))


def _spec_toml(folder: str, name_or_path: str) -> Path:
    """A TOML file named in ``specs/<folder>`` (``oimi``) or given by path (``my.toml``)."""
    path = Path(name_or_path)
    return spec_root() / folder / f"{name_or_path}.toml" if not path.suffix else path


def load_profile(name_or_path: str) -> Profile:
    """A profile by name (``oimi``) or by path to a TOML file."""
    path = _spec_toml("profiles", name_or_path)
    if not path.is_file():
        raise UsageError(f"unknown profile {name_or_path!r}; known: {', '.join(profile_names())} (or a .toml path)")
    data = _read_toml(path)
    errors = data.get("errors", {})
    envelopes = {fam: tuple(errors.get(fam, ["openai"])) for fam in ("openai", "anthropic", "gemini")}
    for fam, names in envelopes.items():
        unknown = set(names) - set(ENVELOPES)
        if unknown:
            raise UsageError(f"{path}: errors.{fam}: unknown envelope(s) {sorted(unknown)}; allowed: {ENVELOPES}")
    statuses = {k: tuple(v) for k, v in errors.items()
                if k not in envelopes and isinstance(v, list) and all(isinstance(x, int) for x in v)}
    style = data.get("auth", {}).get("undocumented_style", "reject")
    if style not in ("reject", "report"):
        raise UsageError(f"{path}: auth.undocumented_style must be 'reject' or 'report', got {style!r}")
    first_event = data.get("delivery", {}).get("first_event_s", Profile.first_event_s)
    if not isinstance(first_event, (int, float)) or isinstance(first_event, bool) or first_event <= 0:
        raise UsageError(f"{path}: delivery.first_event_s must be a positive number of seconds, got {first_event!r}")
    return Profile(name=data.get("name", path.stem), description=data.get("description", ""),
                   undocumented_style=style, envelopes=envelopes, statuses=statuses,
                   check_claims=bool(data.get("models", {}).get("check_claims", True)), source=str(path),
                   expectations=tuple(str(e) for e in data.get("expectations", [])),
                   require_retry_after=bool(errors.get("require_retry_after", False)),
                   first_event_s=float(first_event),
                   headers=_headers_table(data.get("headers", {}), path), rule_sources=_rule_sources(data, path))


def _rule_sources(data: dict[str, Any], path: Path) -> tuple[str, ...]:
    sources = data.get("rules", {}).get("sources", list(RULE_SOURCES))
    if not isinstance(sources, list) or not set(sources) <= set(RULE_SOURCES):
        raise UsageError(f"{path}: rules.sources must be a list of {RULE_SOURCES}, got {sources!r}")
    return tuple(sources)


def _headers_table(table: Any, path: Path) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise UsageError(f"{path}: [headers] must map header names to string values")
    return dict(table)


@dataclass(frozen=True)
class Expectation:
    check: str | tuple[str, ...]  # check id, glob allowed; a list in TOML: any of them
    reason: str
    case: str | tuple[str, ...] = "*"
    model: str | tuple[str, ...] = "*"
    link: str = ""  # the target's own issue, where one exists
    reference: str = ""  # the official reference the deviation is judged against
    source: str = ""  # where the target's own code causes it (new-api: file and function, at a commit)
    # regexes: when given, the entry covers a failure only if every violation ("pointer: message (rule)")
    # matches one of them, so a known deviation never hides a new one on the same check and case
    violations: tuple[str, ...] = ()
    origin: str = ""  # the expectations file the entry comes from

    @property
    def cited_reason(self) -> str:
        """The reason with what it rests on, as reports show a known deviation: the target's own source
        (new-api: file and function) and the reference it departs from, where the entry names them."""
        cites = "; ".join(c for c in (self.source, self.reference, self.link) if c)
        return f"{self.reason} [{cites}]" if cites else self.reason

    def matches(self, check_id: str, case_id: str, model: str | None,
                violations: list[str] | None = None) -> bool:
        if not (_any_glob(check_id, self.check) and _any_glob(case_id, self.case)
                and _any_glob(model or "", self.model)):
            return False
        if self.violations and violations is not None:
            return all(any(re.search(p, v) for p in self.violations) for v in violations)
        return True


def _any_glob(value: str, globs: str | tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, g) for g in ((globs,) if isinstance(globs, str) else globs))


def _globs(value: Any) -> str | tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else value


@dataclass
class Expectations:
    """Known deviations of one target: these failures are reported as ``xfailed``, not ``failed``."""

    items: list[Expectation] = field(default_factory=list)
    source: str = ""

    def find(self, check_id: str, case_id: str, model: str | None,
             violations: list[str] | None = None) -> Expectation | None:
        """The entry that covers this failure; ``violations`` (as ``str(Violation)``) narrow it."""
        for item in self.items:
            if item.matches(check_id, case_id, model, violations):
                return item
        return None

    def unexpected_pass(self, check_id: str, case_id: str, model: str | None) -> str | None:
        """``--strict-expectations``: why a check that passed fails the run (this file lists it as an
        expected failure, so the target changed), or None when the file does not list it."""
        item = self.find(check_id, case_id, model)
        if item is None:
            return None
        where = f"check={_show(item.check)}" + (f" case={_show(item.case)}" if item.case != "*" else "") \
            + (f" model={_show(item.model)}" if item.model != "*" else "")
        return (f"expected failure now passes: update {item.origin or self.source or 'the expectations file'} "
                f"(its entry {where} says: {item.reason})")


def _show(globs: str | tuple[str, ...]) -> str:
    return repr(globs) if isinstance(globs, str) else "[" + ", ".join(repr(g) for g in globs) + "]"


def load_expectations(name_or_path: str | list[str] | tuple[str, ...] | None) -> Expectations:
    """One expectations file by name or path, or several (a list, or names joined by commas), merged."""
    if not name_or_path:
        return Expectations()
    names = [n.strip() for n in (name_or_path.split(",") if isinstance(name_or_path, str) else name_or_path)]
    items: list[Expectation] = []
    sources = []
    for name in dict.fromkeys(n for n in names if n):
        path = _spec_toml("expectations", name)
        if not path.is_file():
            raise UsageError(f"no expectations file {name!r}")
        sources.append(str(path))
        items += _read_entries(path)
    return Expectations(items, ",".join(sources))


def _read_entries(path: Path) -> list[Expectation]:
    data = _read_toml(path)
    items = []
    for entry in data.get("expected_failure", []):
        if "check" not in entry or "reason" not in entry:
            raise UsageError(f"{path}: every [[expected_failure]] needs `check` and `reason`")
        patterns = tuple(str(p) for p in entry.get("violations", []))
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise UsageError(f"{path}: violations pattern {pattern!r} is not a regex: {exc}") from None
        items.append(Expectation(check=_globs(entry["check"]), reason=entry["reason"],
                                 case=_globs(entry.get("case", "*")), model=_globs(entry.get("model", "*")),
                                 link=entry.get("link", ""), reference=entry.get("reference", ""),
                                 source=entry.get("source", ""), violations=patterns, origin=str(path)))
    return items
