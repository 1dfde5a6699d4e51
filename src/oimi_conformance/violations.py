"""A single broken rule, as every validator and check reports it."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Violation:
    """One rule broken at one place.

    rule:    stable id of the rule, e.g. ``schema.required``, ``grammar.order``, ``stream.constant-field``.
    message: one line, what was expected and what was seen.
    pointer: JSON pointer into the judged body; for streams it starts with ``/events/<n>``.
    spec:    where the rule is written, e.g. ``specs/schemas/openai/chat.completion.json#/required``.
    """

    rule: str
    message: str
    pointer: str = ""
    spec: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        where = self.pointer or "/"
        spec = f"  [{self.spec}]" if self.spec else ""
        return f"{where}: {self.message} ({self.rule}){spec}"


def json_pointer(parts: object) -> str:
    """Render a path (iterable of keys and indices) as an RFC 6901 JSON pointer."""
    out = []
    for part in parts:  # type: ignore[attr-defined]
        out.append(str(part).replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(out) if out else ""
