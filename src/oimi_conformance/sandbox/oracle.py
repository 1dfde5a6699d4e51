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

from .schema_instances import schema_instance

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
