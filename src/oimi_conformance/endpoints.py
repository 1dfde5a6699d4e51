"""The endpoint table (``specs/endpoints.yaml``), read once and checked, and the lookups derived from it.

Every table of the code that names endpoints (the gateway's claim names, the matrix's columns and labels,
the report's endpoint order and family titles, the fuzzer's per-operation facts) is built here from the one
data file, so a new endpoint is an entry there rather than an edit of each table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .exceptions import UsageError
from .specdir import load_data

SPEC_FILE = "endpoints.yaml"
LABEL_WIDTH = 6  # the text matrix's column width


@dataclass(frozen=True)
class Capability:
    """One column of the capability matrix."""

    name: str
    endpoint: str
    probe: str  # the case id whose answer is this column's cell
    label: str  # its short name in the text matrix
    requires: str | None = None  # the basic capability a refusal of which leaves this one not probed


@dataclass(frozen=True)
class Operation:
    """What the fuzzer needs of one operationId beyond its schemas."""

    id: str
    endpoint: str
    family: str
    claim: str | None
    output_pins: dict[str, Any] = field(default_factory=dict)
    negative_pins: dict[str, Any] = field(default_factory=dict)
    positive_query_pins: dict[str, Any] = field(default_factory=dict)
    positive_drops: tuple[str, ...] = ()
    stream_flag: bool = False
    path_model: bool = False


@dataclass(frozen=True)
class Endpoint:
    name: str
    family: str
    claim: str | None
    capabilities: tuple[Capability, ...]
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class EndpointTable:
    families: dict[str, str]  # family -> title
    endpoints: tuple[Endpoint, ...]  # in report order

    def capabilities(self) -> tuple[Capability, ...]:
        return tuple(c for e in self.endpoints for c in e.capabilities)

    def operations(self) -> tuple[Operation, ...]:
        return tuple(o for e in self.endpoints for o in e.operations)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"specs/{SPEC_FILE}: {where} must be a mapping")
    return value


def _operation(op_id: str, raw: Any, endpoint: str, family: str, claim: str | None) -> Operation:
    data = _mapping(raw, f"{endpoint}: operations: {op_id}")
    unknown = set(data) - {"family", "claim", "output_pins", "negative_pins", "positive_query_pins",
                           "positive_drops", "stream_flag", "path_model"}
    if unknown:
        raise UsageError(f"specs/{SPEC_FILE}: {endpoint}: {op_id}: unknown keys {sorted(unknown)}")
    return Operation(
        id=op_id, endpoint=endpoint, family=str(data.get("family", family)), claim=data.get("claim", claim),
        output_pins=dict(_mapping(data.get("output_pins"), f"{op_id}: output_pins")),
        negative_pins=dict(_mapping(data.get("negative_pins"), f"{op_id}: negative_pins")),
        positive_query_pins=dict(_mapping(data.get("positive_query_pins"), f"{op_id}: positive_query_pins")),
        positive_drops=tuple(str(f) for f in data.get("positive_drops") or ()),
        stream_flag=bool(data.get("stream_flag", False)), path_model=bool(data.get("path_model", False)))


def parse_table(data: Any) -> EndpointTable:
    """Build and check the table from the parsed YAML document (a mapping)."""
    doc = _mapping(data, "the document")
    families = {str(k): str(v) for k, v in _mapping(doc.get("families"), "families").items()}
    endpoints: list[Endpoint] = []
    for name, raw in _mapping(doc.get("endpoints"), "endpoints").items():
        entry = _mapping(raw, str(name))
        family = entry.get("family")
        if family not in families:
            raise UsageError(f"specs/{SPEC_FILE}: {name}: family {family!r} is not one of {sorted(families)}")
        claim = entry.get("claim")
        caps = []
        for cap, cap_raw in _mapping(entry.get("capabilities"), f"{name}: capabilities").items():
            c = _mapping(cap_raw, f"{name}: {cap}")
            if not c.get("probe") or not c.get("label"):
                raise UsageError(f"specs/{SPEC_FILE}: {name}: {cap}: needs a probe case and a label")
            if len(str(c["label"])) > LABEL_WIDTH:
                raise UsageError(f"specs/{SPEC_FILE}: {name}: {cap}: label longer than {LABEL_WIDTH} characters")
            caps.append(Capability(name=str(cap), endpoint=str(name), probe=str(c["probe"]),
                                   label=str(c["label"]), requires=c.get("requires")))
        ops = tuple(_operation(str(op), op_raw, str(name), family, claim)
                    for op, op_raw in _mapping(entry.get("operations"), f"{name}: operations").items())
        endpoints.append(Endpoint(name=str(name), family=family, claim=claim, capabilities=tuple(caps),
                                  operations=ops))
    table = EndpointTable(families=families, endpoints=tuple(endpoints))
    _check(table)
    return table


def _check(table: EndpointTable) -> None:
    names = [c.name for c in table.capabilities()]
    probes = [c.probe for c in table.capabilities()]
    ops = [o.id for o in table.operations()]
    for what, values in (("capability", names), ("probe case", probes), ("operation", ops)):
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise UsageError(f"specs/{SPEC_FILE}: {what} listed more than once: {dupes}")
    for c in table.capabilities():
        if c.requires is not None and c.requires not in names:
            raise UsageError(f"specs/{SPEC_FILE}: {c.name} requires an unknown capability {c.requires!r}")
    for o in table.operations():
        if o.family not in table.families:
            raise UsageError(f"specs/{SPEC_FILE}: {o.id}: family {o.family!r} is not one of {sorted(table.families)}")


@cache
def table() -> EndpointTable:
    """The table of ``specs/endpoints.yaml``."""
    return parse_table(load_data(SPEC_FILE))


# -- the derived lookups (each one a former hand-written table) -------------------------------------------


def claim_of_endpoint() -> dict[str, str]:
    """endpoint -> the gateway's claim name (``supported_endpoint_types``)."""
    return {e.name: e.claim for e in table().endpoints if e.claim}


def capability_names() -> tuple[str, ...]:
    """The matrix's columns, in order."""
    return tuple(c.name for c in table().capabilities())


def requires() -> dict[str, str]:
    return {c.name: c.requires for c in table().capabilities() if c.requires}


def labels() -> dict[str, str]:
    """capability -> its short name in the text matrix."""
    return {c.name: c.label for c in table().capabilities()}


def probe_ids() -> dict[str, str]:
    """probe case id -> the capability whose cell it is."""
    return {c.probe: c.name for c in table().capabilities()}


def endpoint_order() -> tuple[str, ...]:
    return tuple(e.name for e in table().endpoints)


def family_titles() -> dict[str, str]:
    return dict(table().families)


def family_title_of_endpoint() -> dict[str, str]:
    """endpoint -> the title of its family (the HTML report's grouping)."""
    return {e.name: table().families[e.family] for e in table().endpoints}
