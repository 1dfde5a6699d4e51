"""Parsing one JSON text exactly as ``json.loads`` does, without its per-call overhead.

A stream is thousands of small JSON texts. ``json.loads`` checks the argument's type and a BOM,
then matches whitespace twice with a regex around the C scanner's call; for the usual text (an
object that starts at its first character and ends at its last) the scanner alone gives the same
value. Anything else (whitespace around the value, a BOM, extra data, an error) goes through
``json.loads`` itself, so values, errors, messages and positions are the standard library's.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable
from typing import Any


class JSONText:
    """``loads(text)``: ``json.loads(text, **options)``, same value, same exception."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._decoder = json.JSONDecoder(**options)
        # The scanner JSONDecoder itself builds (C's, which clears its memo after each call). The ignore:
        # typeshed types make_scanner's argument as the scanner class; CPython passes the decoder, as here.
        scanner = json.scanner.make_scanner(self._decoder)  # type: ignore[arg-type]
        self._scan: Callable[[str, int], tuple[Any, int]] = scanner

    def loads(self, text: str) -> Any:
        try:
            value, end = self._scan(text, 0)
        except (StopIteration, ValueError):
            return json.loads(text, **self._options)  # raises what json.loads raises, as it does
        if end != len(text):
            return json.loads(text, **self._options)  # trailing whitespace is fine; anything else is "Extra data"
        return value


#: ``json.loads`` for text, as the stream judges call it for every event.
loads = JSONText().loads
