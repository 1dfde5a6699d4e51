"""Text a gateway chose, made safe for where it goes: files (no lone surrogates: UTF-8 cannot hold
them), terminals (no control sequences: a model id must not retitle, clear or hyperlink a terminal)
and Markdown (no table or HTML injection from a model id)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that reorder text
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_\[\]|#~!])")


def no_surrogates(text: str) -> str:
    """Lone surrogates (``"\\ud800"`` in a JSON answer) become U+FFFD; a valid pair stays one character."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def map_strings(obj: Any, on_str: Callable[[str], str],
                on_bytes: Callable[[bytes], bytes] | None = None) -> Any:
    """A copy of a decoded structure with ``on_str`` applied to every string, dict keys too (and
    ``on_bytes`` to every bytes value), lists and tuples as lists. Iterative, not recursive: a hostile
    body may nest thousands of levels deep."""
    root: list[Any] = [obj]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, obj)]
    while stack:
        holder, slot, item = stack.pop()
        if isinstance(item, str):
            holder[slot] = on_str(item)
        elif isinstance(item, bytes) and on_bytes is not None:
            holder[slot] = on_bytes(item)
        elif isinstance(item, dict):
            copy = {on_str(k) if isinstance(k, str) else k: v for k, v in item.items()}
            holder[slot] = copy
            stack.extend((copy, k, v) for k, v in copy.items())
        elif isinstance(item, (list, tuple)):
            items = list(item)
            holder[slot] = items
            stack.extend((items, i, v) for i, v in enumerate(items))
    return root[0]


def clean_value(obj: Any) -> Any:
    """``no_surrogates`` over every string of a decoded structure (keys too), without recursion."""
    return map_strings(obj, no_surrogates)


def terminal(text: str) -> str:
    """Control characters shown as escapes (``\\x1b``), so nothing a gateway sent acts on the terminal."""
    text = no_surrogates(text)
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def markdown(text: str) -> str:
    """One line of Markdown that shows ``text`` literally: in a table cell or a list item."""
    text = terminal(text).replace("\r", " ").replace("\n", " ")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)
