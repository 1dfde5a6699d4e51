"""JSON Schema documents of ``specs/schemas``: loaded once, compiled once, judged fast.

Every schema file is registered under its ``file://`` URI, so relative ``$ref``s between
files resolve the same way here, in ``openapi.yaml`` and in any external tool, and nothing
is ever fetched. Valid instances (the common case) are confirmed by the compiled
``jsonschema_rs`` validator; only an instance it rejects is walked again by the reference
``jsonschema`` implementation, to name each violation with its pointer, keyword and the
schema file and location that the rule came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import jsonschema
import referencing
import referencing.jsonschema
from jsonschema.exceptions import ValidationError

from .exceptions import UsageError
from .specdir import spec_root
from .violations import Violation, json_pointer

try:  # the Rust validator is a speed-up, never a requirement
    import jsonschema_rs
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    jsonschema_rs = None  # type: ignore[assignment]  # the module or None: tested before each use

SCHEMA_DIR = "schemas"


class CompiledSchema:
    """One schema file, ready to judge instances."""

    def __init__(self, name: str, uri: str, store: SchemaStore, fragment: str = "") -> None:
        self.name = name
        self.uri = uri
        self._store = store
        # Always enter through an absolute $ref: the files carry no $id, so this is what tells both
        # validators the base URI against which the file's relative $refs resolve.
        self.entry = f"{uri}#{fragment}" if fragment else uri
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": self.entry}
        self._reference = jsonschema.Draft202012Validator(schema, registry=store.registry)
        self._fast = None
        if jsonschema_rs is not None and store.rs_registry is not None:
            try:
                self._fast = jsonschema_rs.validator_for(
                    schema, registry=store.rs_registry, validate_formats=False
                )
            except Exception:
                self._fast = None
        #: True when ``instance`` conforms: the compiled validator's own method, called with no
        #: Python frame in between (it is asked once per stream event)
        self.is_valid: Callable[[Any], bool] = (
            self._fast.is_valid if self._fast is not None else self._reference.is_valid)

    def violations(self, instance: Any, prefix: Iterable[Any] = ()) -> list[Violation]:
        """Every violation in ``instance``; empty when it conforms."""
        if self.is_valid(instance):
            return []
        return self.explain(instance, prefix)

    def explain(self, instance: Any, prefix: Iterable[Any] = ()) -> list[Violation]:
        prefix = list(prefix)
        found = [self._to_violation(err, prefix) for err in _leaf_errors(self._reference.iter_errors(instance))]
        found.sort(key=lambda v: (v.pointer, v.rule))
        return found

    def _to_violation(self, err: ValidationError, prefix: list[Any]) -> Violation:
        spec = self._store.locate(self.entry, list(err.absolute_schema_path))
        return Violation(
            rule=f"schema.{err.validator}",
            message=_short_message(err),
            pointer=json_pointer([*prefix, *err.absolute_path]),
            spec=spec,
        )


_DISCRIMINATORS = frozenset({"type", "object"})


def _wrong_branch(errors: list[ValidationError]) -> bool:
    """A branch of anyOf/oneOf that was never meant for this instance: its root type, or its
    discriminator (``type``/``object`` tag), does not match."""
    for err in errors:
        path = list(err.relative_path)
        if not path and err.validator in ("type", "const", "enum"):
            return True
        if len(path) == 1 and path[0] in _DISCRIMINATORS and err.validator in ("const", "enum"):
            return True
    return False


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """Descend into anyOf/oneOf failures when exactly one branch fits the instance, so the message
    names the innermost broken rule instead of "not valid under any of the given schemas"."""
    for err in errors:
        if err.validator in ("anyOf", "oneOf") and err.context:
            branches: dict[Any, list[ValidationError]] = {}
            for sub in err.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            plausible = [subs for subs in branches.values() if not _wrong_branch(subs)]
            if len(plausible) == 1:
                yield from _leaf_errors(plausible[0])
                continue
            if not plausible:
                err.message = f"{err.instance!r:.80} is none of: {_alternatives(err.validator_value)}"
        yield err


def _alternatives(branches: Any) -> str:
    """Say what an anyOf/oneOf accepts, in a few words: enum values, constants and types."""
    said = []
    for branch in branches if isinstance(branches, list) else []:
        if not isinstance(branch, dict):
            continue
        if "enum" in branch:
            values = branch["enum"]
            said.append("one of " + ", ".join(map(repr, values[:12])) + (" ..." if len(values) > 12 else ""))
        elif "const" in branch:
            said.append(repr(branch["const"]))
        elif "type" in branch:
            said.append(f"any {branch['type']}" if isinstance(branch["type"], str) else f"any of {branch['type']}")
        elif "$ref" in branch:
            said.append(branch["$ref"].rsplit("/", 1)[-1])
    return "; ".join(said) or "the alternatives of the schema"


def _short_message(err: ValidationError) -> str:
    text = err.message
    if len(text) > 300:
        text = text[:297] + "..."
    return text


class SchemaStore:
    """All schema files of the spec, keyed by their path below ``specs/schemas``
    (e.g. ``openai/chat.completion.json``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or spec_root()) / SCHEMA_DIR
        resources = []
        self.uris: dict[str, str] = {}
        for path in sorted(self.root.rglob("*.json")):
            name = path.relative_to(self.root).as_posix()
            uri = path.resolve().as_uri()
            contents = json.loads(path.read_text(encoding="utf-8"))
            self.uris[name] = uri
            resources.append((uri, referencing.Resource.from_contents(
                contents, default_specification=referencing.jsonschema.DRAFT202012)))
        self.registry: referencing.Registry = referencing.Registry().with_resources(resources).crawl()
        self.rs_registry = None
        if jsonschema_rs is not None:
            try:
                self.rs_registry = jsonschema_rs.Registry([(uri, res.contents) for uri, res in resources])
            except Exception:
                self.rs_registry = None
        self._compiled: dict[str, CompiledSchema] = {}

    def names(self) -> list[str]:
        return sorted(self.uris)

    def get(self, name: str) -> CompiledSchema:
        """The compiled schema of one file, compiled on first use and kept."""
        compiled = self._compiled.get(name)
        if compiled is None:
            file, _, fragment = name.partition("#")
            if file not in self.uris:
                raise UsageError(f"unknown schema {file!r}; known: {', '.join(self.names())}")
            if fragment and self._resolve_fragment(file, fragment) is None:
                raise UsageError(f"schema {file!r} has nothing at #{fragment}")
            compiled = CompiledSchema(name, self.uris[file], self, fragment)
            self._compiled[name] = compiled
        return compiled

    def _resolve_fragment(self, file: str, fragment: str) -> Any:
        node: Any = self.registry[self.uris[file]].contents
        for part in fragment.strip("/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def relative(self, uri: str) -> str:
        """``file:///.../specs/schemas/a/b.json`` -> ``specs/schemas/a/b.json``."""
        base = self.root.resolve().as_uri().rstrip("/") + "/"
        return "specs/schemas/" + uri[len(base):] if uri.startswith(base) else uri

    def locate(self, entry: str, schema_path: list[Any]) -> str:
        """Follow an error's schema path from ``entry`` (a URI, maybe with a fragment) through the
        ``$ref``s it crosses, to the file and pointer of the rule that broke.

        jsonschema leaves ``$ref`` out of the paths it reports, so a step that is not found where
        we stand means the walk must first cross the ``$ref`` there."""
        current_uri = urldefrag(entry)[0]
        resolver = self.registry.resolver(base_uri=current_uri)
        node: Any = {"$ref": entry}
        pointer: list[Any] = []
        for part in schema_path:
            while part != "$ref" and isinstance(node, dict) and part not in node and "$ref" in node:
                resolved = resolver.lookup(node["$ref"])
                target, fragment = urldefrag(_absolute(current_uri, node["$ref"]))
                current_uri = target or current_uri
                resolver, node = resolved.resolver, resolved.contents
                pointer = [p.replace("~1", "/").replace("~0", "~") for p in fragment.split("/") if p]
            if part == "$ref":
                continue
            pointer.append(part)
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        return self.relative(current_uri) + "#" + json_pointer(pointer)


def _absolute(base: str, ref: str) -> str:
    from urllib.parse import urljoin

    return urljoin(base, ref)


@cache
def default_store() -> SchemaStore:
    return SchemaStore()
