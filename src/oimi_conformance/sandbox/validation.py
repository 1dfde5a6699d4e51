"""Reading request fields with type and range checks.

A bad field raises a 400 ``invalid_request`` (relay stage). Under the ``errors.accepts-invalid-input``
deviation the same reader answers the default instead, so the request goes on to a 200: this is the
one switch point for that deviation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import RequestContext
from .error_bodies import invalid

Key = str | tuple[str, ...]  # a name, or aliases tried in order (Gemini accepts camelCase and snake_case)


class Fields:
    def __init__(self, ctx: RequestContext, source: Mapping[str, Any] | None, prefix: str = "") -> None:
        self.source: Mapping[str, Any] = source if isinstance(source, Mapping) else {}
        self.prefix = prefix
        self.lenient = ctx.has("errors.accepts-invalid-input")
        self.ctx = ctx

    def fail(self, message: str, param: str = "", *, upstream: bool = False) -> None:
        """``upstream``: a rule only the provider enforces (a value out of range), whose 400 new-api passes
        through; the rest (missing fields, wrong types) new-api's own relay checks, with its own status."""
        if not self.lenient:
            raise invalid(message, param, upstream=upstream)

    def _name(self, key: Key) -> str:
        name = key if isinstance(key, str) else key[0]
        return f"{self.prefix}{name}"

    def raw(self, key: Key) -> Any:
        for name in (key,) if isinstance(key, str) else key:
            if name in self.source:
                return self.source[name]
        return None

    def present(self, key: Key) -> bool:
        return self.raw(key) is not None

    def sub(self, key: Key) -> Fields:
        """The fields of a nested object (an absent or non-object value reads as empty)."""
        value = self.obj(key)
        return Fields(self.ctx, value or {}, prefix=f"{self._name(key)}.")

    def require(self, key: Key) -> None:
        if not self.present(key):
            self.fail(f"field {self._name(key)} is required", self._name(key))

    def integer(self, key: Key, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self.raw(key)
        if value is None:
            return None
        name = self._name(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{name} must be an integer", name)
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(f"{name} must be between {minimum} and {maximum}, got {value}", name, upstream=True)
            return None
        return value

    def number(self, key: Key, *, minimum: float, maximum: float) -> float | None:
        value = self.raw(key)
        if value is None:
            return None
        name = self._name(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"{name} must be a number", name)
            return None
        if not minimum <= value <= maximum:
            self.fail(f"{name} must be between {minimum} and {maximum}, got {value}", name, upstream=True)
            return None
        return float(value)

    def boolean(self, key: Key, default: bool = False) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(f"{self._name(key)} must be a boolean", self._name(key))
            return default
        return value

    def string(self, key: Key, *, required: bool = False) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                self.require(key)
            return None
        if not isinstance(value, str):
            self.fail(f"{self._name(key)} must be a string", self._name(key))
            return None
        return value

    def array(self, key: Key, *, required: bool = False, non_empty: bool = False) -> list[Any]:
        value = self.raw(key)
        name = self._name(key)
        if value is None:
            if required:
                self.require(key)
            return []
        if not isinstance(value, list):
            self.fail(f"{name} must be an array", name)
            return []
        if non_empty and not value:
            self.fail(f"{name} must not be empty", name)
        return value

    def obj(self, key: Key) -> dict[str, Any] | None:
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(f"{self._name(key)} must be an object", self._name(key))
            return None
        return value

    def stops(self, key: Key, *, limit: int = 4) -> list[str]:
        """A stop parameter: one string or a list of strings."""
        value = self.raw(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(s, str) for s in value) and len(value) <= limit:
            return list(value)
        self.fail(f"{self._name(key)} must be a string or an array of at most {limit} strings", self._name(key))
        return []
