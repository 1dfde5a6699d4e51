"""Deterministic values generated from a JSON Schema: the sandbox's tool arguments and JSON-mode replies.

Only the schema features tools really use: ``$ref`` (local), ``const``, ``enum``, unions, ``allOf``,
objects, arrays (``prefixItems`` too), numbers with their bounds and strings with their formats and lengths.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 32  # a recursive schema ends here instead of recursing forever

_STRING_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00Z",
    "email": "sandbox@example.com",
    "uri": "https://example.com/sandbox",
    "url": "https://example.com/sandbox",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
    "hostname": "example.com",
}


def schema_instance(schema: Any, root: Any = None, *, variant: int = 0, depth: int = 0) -> Any:
    """A deterministic value that validates against ``schema``.

    Objects get their required properties (plus optional ones up to ``minProperties``), enums their
    ``variant``-th value, unions their first non-null branch, arrays ``max(minItems, 1)`` distinct items.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return {} if schema is True or schema is None else None
    inner = _composed(schema, root)
    if inner is not None:  # a reference, a union or a conjunction: the instance of what it stands for
        return schema_instance(inner, root, variant=variant, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][min(variant, len(schema["enum"]) - 1)]
    return _BY_TYPE.get(_pick_type(schema), _string)(schema, root, variant, depth)


def _composed(schema: dict[str, Any], root: Any) -> Any:
    """The schema a ``$ref``, ``anyOf``/``oneOf`` or ``allOf`` stands for, or None for a plain schema."""
    if "$ref" in schema:
        return _resolve(schema["$ref"], root)
    for union in ("anyOf", "oneOf"):
        branches = schema.get(union)
        if isinstance(branches, list) and branches:
            return next((b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")), branches[0])
    if isinstance(schema.get("allOf"), list):
        return _merged(schema, root)
    return None


def _merged(schema: dict[str, Any], root: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema["allOf"]:
        part = _resolve(part["$ref"], root) if isinstance(part, dict) and "$ref" in part else part
        if isinstance(part, dict):
            merged.setdefault("properties", {}).update(part.get("properties", {}))
            merged["required"] = [*merged.get("required", []), *part.get("required", [])]
            for key, value in part.items():
                merged.setdefault(key, value)
    return merged


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#"):
        return {}
    node = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return {}
    return node


def _pick_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), kind[0] if kind else None)
    if kind is None:
        if "properties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return "string"
    return str(kind).lower()  # Gemini's OpenAPI subset writes "OBJECT", "STRING"...


def _object(schema: dict[str, Any], root: Any, variant: int, depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    names = list(dict.fromkeys(schema.get("required") or []))
    minimum = schema.get("minProperties") or 0
    names += [n for n in properties if n not in names][: max(0, minimum - len(names))]
    return {n: schema_instance(properties.get(n, {"type": "string"}), root, depth=depth + 1) for n in names}


def _array(schema: dict[str, Any], root: Any, variant: int, depth: int) -> list[Any]:
    prefix = schema.get("prefixItems") or []
    count = max(schema.get("minItems") or 0, 1, len(prefix))
    if isinstance(schema.get("maxItems"), int):
        count = min(count, schema["maxItems"])
    items = schema.get("items", {})
    return [schema_instance(prefix[i] if i < len(prefix) else items, root, variant=i, depth=depth + 1)
            for i in range(count)]


def _integer(schema: dict[str, Any], root: Any, variant: int, depth: int) -> float | int:
    return _number(schema, 1 + variant, integer=True)


def _float(schema: dict[str, Any], root: Any, variant: int, depth: int) -> float | int:
    return _number(schema, 1.5 + variant, integer=False)


def _number(schema: dict[str, Any], start: float, integer: bool) -> float | int:
    value = start
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if ex_low is True:  # draft-04 style
        ex_low, low = low, None
    if ex_high is True:
        ex_high, high = high, None
    step = 1 if integer else 0.5
    if isinstance(low, (int, float)) and value < low:
        value = low
    if isinstance(ex_low, (int, float)) and value <= ex_low:
        value = ex_low + step
    if isinstance(high, (int, float)) and value > high:
        value = high
    if isinstance(ex_high, (int, float)) and value >= ex_high:
        value = ex_high - step
        if isinstance(ex_low, (int, float)) and value <= ex_low:
            value = (ex_low + ex_high) / 2
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    return math.ceil(value) if integer else float(value)


def _boolean(schema: dict[str, Any], root: Any, variant: int, depth: int) -> bool:
    return variant % 2 == 0


def _null(schema: dict[str, Any], root: Any, variant: int, depth: int) -> None:
    return None


def _string(schema: dict[str, Any], root: Any, variant: int, depth: int) -> str:
    text = _STRING_FORMATS.get(str(schema.get("format", "")), "sandbox")
    if variant:
        text = f"{text}-{variant}" if text == "sandbox" else text
    min_length, max_length = schema.get("minLength"), schema.get("maxLength")
    if isinstance(min_length, int) and len(text) < min_length:
        text = text + "x" * (min_length - len(text))
    if isinstance(max_length, int) and len(text) > max_length:
        text = text[:max_length]
    return text


_BY_TYPE: dict[str, Callable[[dict[str, Any], Any, int, int], Any]] = {
    "object": _object, "array": _array, "integer": _integer, "number": _float, "boolean": _boolean,
    "null": _null, "string": _string,
}
