"""The sandbox's deterministic "model": the same request always gets the same answer.

Rules (documented so tests and app developers can predict every answer):
- One token is one whitespace-separated word, for prompts and completions alike.
- The reply is ``"Sandbox reply: " + <the words of the last user message>``. A tool result as the last
  turn gives ``"Sandbox reply: tool result: <its words>"``. An instruction "Reply with exactly: X" in the
  system prompt (checked first) or the last user message makes the reply exactly ``X``, so a harness can
  prove that system instructions are honoured.
- Stop sequences cut the text before the earliest match; a token limit keeps the first N words.
- Tool arguments and JSON-schema output are generated from the given JSON Schema so they validate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

REPLY_PREFIX = "Sandbox reply:"
_DIRECTIVE = re.compile(r"reply with exactly:\s*(.*)", re.IGNORECASE | re.DOTALL)
_WORD = re.compile(r"\S+")


def count_tokens(text: str) -> int:
    return len(text.split())


def reply_text(user_text: str, system_text: str = "", tool_result: str | None = None) -> str:
    for source in (system_text, user_text):
        match = _DIRECTIVE.search(source or "")
        if match:
            return match.group(1).strip()
    if tool_result is not None:
        return " ".join([REPLY_PREFIX, "tool result:", *tool_result.split()])
    return " ".join([REPLY_PREFIX, *user_text.split()])


@dataclass(frozen=True)
class Generation:
    """A generated text. ``finish`` is protocol-neutral: "end", "length" or "stop_sequence"."""

    text: str
    tokens: int
    finish: str
    stop_sequence: str | None = None


def generate(full: str, max_tokens: int | None = None, stops: Iterable[str] = ()) -> Generation:
    text, finish, matched = full, "end", None
    hits = [(full.find(s), s) for s in stops if s and s in full]
    if hits:
        index, matched = min(hits)
        text, finish = full[:index], "stop_sequence"
    words = list(_WORD.finditer(text))
    if max_tokens is not None and len(words) > max_tokens:
        text = text[: words[max_tokens - 1].end()] if max_tokens > 0 else ""
        finish, matched = "length", None
    return Generation(text=text, tokens=count_tokens(text), finish=finish, stop_sequence=matched)


def pieces(text: str) -> list[str]:
    """Stream pieces, one token each, that join back into exactly ``text``."""
    parts = re.findall(r"\s*\S+", text)
    if not parts:
        return [text] if text else []
    parts[-1] += text[len("".join(parts)) :]
    return parts


# --- values generated from JSON Schema -------------------------------------------------------------

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


def _string(schema: dict[str, Any], variant: int) -> str:
    text = _STRING_FORMATS.get(str(schema.get("format", "")), "sandbox")
    if variant:
        text = f"{text}-{variant}" if text == "sandbox" else text
    min_length, max_length = schema.get("minLength"), schema.get("maxLength")
    if isinstance(min_length, int) and len(text) < min_length:
        text = text + "x" * (min_length - len(text))
    if isinstance(max_length, int) and len(text) > max_length:
        text = text[:max_length]
    return text


def schema_instance(schema: Any, root: Any = None, *, variant: int = 0, depth: int = 0) -> Any:
    """A deterministic value that validates against ``schema`` (for the schemas tools really use).

    Objects get their required properties (plus optional ones up to ``minProperties``), enums their
    first value, unions their first non-null branch, arrays ``max(minItems, 1)`` distinct items.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 32:
        return {} if schema is True or schema is None else None
    if "$ref" in schema:
        return schema_instance(_resolve(schema["$ref"], root), root, variant=variant, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][min(variant, len(schema["enum"]) - 1)]
    for union in ("anyOf", "oneOf"):
        branches = schema.get(union)
        if isinstance(branches, list) and branches:
            chosen = next((b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")), branches[0])
            return schema_instance(chosen, root, variant=variant, depth=depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _resolve(part["$ref"], root) if isinstance(part, dict) and "$ref" in part else part
            if isinstance(part, dict):
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                for key, value in part.items():
                    merged.setdefault(key, value)
        return schema_instance(merged, root, variant=variant, depth=depth + 1)
    kind = _pick_type(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        names = [n for n in dict.fromkeys(schema.get("required") or [])]
        minimum = schema.get("minProperties") or 0
        names += [n for n in properties if n not in names][: max(0, minimum - len(names))]
        return {n: schema_instance(properties.get(n, {"type": "string"}), root, depth=depth + 1) for n in names}
    if kind == "array":
        prefix = schema.get("prefixItems") or []
        count = max(schema.get("minItems") or 0, 1, len(prefix))
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        items = schema.get("items", {})
        return [
            schema_instance(prefix[i] if i < len(prefix) else items, root, variant=i, depth=depth + 1)
            for i in range(count)
        ]
    if kind == "integer":
        return _number(schema, 1 + variant, integer=True)
    if kind == "number":
        return _number(schema, 1.5 + variant, integer=False)
    if kind == "boolean":
        return variant % 2 == 0
    if kind == "null":
        return None
    return _string(schema, variant)


def tool_arguments(parameters: Any) -> str:
    """Tool-call arguments as a JSON string; spaced separators so it streams one word at a time."""
    instance = schema_instance(parameters if isinstance(parameters, dict) else {"type": "object"})
    return json.dumps(instance if isinstance(instance, dict) else {}, ensure_ascii=False)


def json_reply(reply: str, schema: Any | None) -> str:
    """The content for JSON mode: an instance of the schema, or ``{"reply": ...}`` without one."""
    if isinstance(schema, dict):
        return json.dumps(schema_instance(schema), ensure_ascii=False)
    return json.dumps({"reply": reply}, ensure_ascii=False)


# --- embeddings and rerank -------------------------------------------------------------------------


def embedding(text: str, dimensions: int) -> list[float]:
    """A unit vector from a hash of the text; components are float32-exact so base64 round-trips."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    raw = []
    for i in range(dimensions):
        (n,) = struct.unpack("<I", hashlib.sha256(seed + i.to_bytes(4, "little")).digest()[:4])
        raw.append(n / 0xFFFFFFFF * 2 - 1)
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [struct.unpack("<f", struct.pack("<f", v / norm))[0] for v in raw]


def float32_base64(vector: Sequence[float]) -> str:
    """Exactly OpenAI's encoding: base64 of little-endian float32 bytes."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _bag(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower())}


def relevance(query: str, document: str) -> float:
    """Share of the query's distinct words found in the document, in [0, 1]."""
    words = _bag(query)
    if not words:
        return 0.0
    return round(len(words & _bag(document)) / len(words), 6)


# --- images ----------------------------------------------------------------------------------------


def colour(prompt: str, index: int) -> tuple[int, int, int]:
    r, g, b = hashlib.sha256(f"{prompt}/{index}".encode()).digest()[:3]
    return r, g, b


def png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    """A real, solid-colour RGB PNG, written by hand (signature, IHDR, IDAT, IEND)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size, 9))
        + chunk(b"IEND", b"")
    )
