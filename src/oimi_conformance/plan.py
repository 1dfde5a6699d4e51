"""From cases and models to the list of requests a run will send (the plan), with no I/O.

Which models a case runs on: a per-model case runs on every model whose claim
(``supported_endpoint_types``) includes the case's endpoint, or on every model when the
gateway makes no claims; other cases run once, on the endpoint's first model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from .cases import Case, Step, load_cases, operations
from .endpoints import claim_of_endpoint
from .exceptions import UsageError
from .specdir import load_data


@cache
def auth_spec() -> dict[str, Any]:
    return load_data("auth.yaml")


def never_issued_keys() -> list[str]:
    """Keys the harness itself presents though nobody issued them (``wrong-key``): echoing one is the
    same leak as echoing the real key, so they are redacted and looked for like it."""
    return [str(n["key"]) for n in auth_spec().get("negative", {}).values() if isinstance(n, dict) and n.get("key")]


@dataclass
class ModelInfo:
    id: str
    claims: frozenset[str] | None  # None: the gateway said nothing about this model's endpoints

    def claims_endpoint(self, endpoint: str) -> bool | None:
        claim = claim_of_endpoint().get(endpoint)  # the gateway's name for it (specs/endpoints.yaml)
        if self.claims is None or claim is None:
            return None
        return claim in self.claims


@dataclass
class CaseRun:
    """One case against one model (or none): what is sent, and later what came back."""

    case: Case
    model: str | None
    claimed: bool | None  # the gateway's claim for this model and endpoint
    auth_label: str
    not_sent: str | None = None  # why the case was not sent (budget, missing key)
    exchanges: dict[str, Any] = field(default_factory=dict)
    after: CaseRun | None = None  # sent only once this run is answered, and not when it was refused (a clean 4xx)

    @property
    def id(self) -> str:
        return f"{self.case.id}[{self.model}]" if self.model else self.case.id

    @property
    def optional(self) -> bool:
        """Whether a clean 4xx means 'unsupported by this model' rather than a failure: an optional case,
        or a per-model case the gateway does not claim for this model (the matrix probes those too)."""
        return self.case.optional or (self.claimed is not True and self.case.per_model)


def plan_runs(models: list[ModelInfo], keys: dict[str, str], cases: tuple[Case, ...] | None = None,
              case_patterns: list[str] | None = None, every_model: bool = False) -> list[CaseRun]:
    """Runs of ``cases`` (default: all) on the models each applies to; ``every_model``: per-model cases run
    on every model whatever the claims (the capability matrix)."""
    import fnmatch

    runs: list[CaseRun] = []
    for case in cases or load_cases():
        if case_patterns and not any(fnmatch.fnmatchcase(case.id, p) for p in case_patterns):
            continue
        targets: list[ModelInfo | None] = list(models) if every_model and case.per_model else _models_for(case, models)
        for info in targets:
            model = info.id if info else None
            run = CaseRun(case, model, info.claims_endpoint(case.endpoint) if info else None, _auth_label(case))
            if case.needs_key and case.needs_key not in keys:
                run.not_sent = f"needs the --{case.needs_key}-key option"
            runs.append(run)
    return runs


def _models_for(case: Case, models: list[ModelInfo]) -> list[ModelInfo | None]:
    if case.endpoint == "models" and not _uses_model(case):
        return [None]
    claimed = [m for m in models if m.claims_endpoint(case.endpoint)]
    unknown = [m for m in models if m.claims_endpoint(case.endpoint) is None]
    pool = claimed + unknown if case.per_model else (claimed or unknown)[:1]
    return list(pool)


def _uses_model(case: Case) -> bool:
    return any("{model}" in json.dumps(s.body) or "{model}" in (s.path or operations()[s.operation].path)
               for s in case.steps)


def _auth_label(case: Case) -> str:
    step = case.steps[0]
    return _style_of(case, step)


def _style_of(case: Case, step: Step) -> str:
    if step.auth == "default":
        return auth_spec()["families"][case.family]["documented"][0]
    return step.auth


def fill_template(template: Any, model: str | None, earlier: dict[str, Any]) -> Any:
    """Fill a body template: ``{model}`` in strings, ``{"$from": "step.a.b"}`` from earlier answers, and
    ``{"$concat": [a, b, ...]}`` joining lists into one.

    ``$concat`` renders each of its parts, then splices a part that is a list, skips a part that is
    ``null`` (an earlier step that answered without the pulled field) and appends any other value as one
    element. It exists for round trips such as compaction: ``{"$concat": [{"$from": "main.output"},
    [{role: user, content: "..."}]]}`` is the earlier step's output items followed by a new message.
    """
    if isinstance(template, str):
        return template.replace("{model}", model or "")
    if isinstance(template, list):
        return [fill_template(v, model, earlier) for v in template]
    if isinstance(template, dict):
        if set(template) == {"$from"}:
            step, *path = template["$from"].split(".")
            value = earlier.get(step)
            for part in path:
                if isinstance(value, list):  # an index; out of range or not a number gives null
                    index = int(part) if part.lstrip("-").isdigit() else len(value)
                    value = value[index] if -len(value) <= index < len(value) else None
                else:
                    value = value.get(part) if isinstance(value, dict) else None
            return value
        if set(template) == {"$concat"}:
            parts = template["$concat"]
            if not isinstance(parts, list):
                raise UsageError(f"$concat takes a list of parts, got {type(parts).__name__}")
            joined: list[Any] = []
            for part in parts:
                value = fill_template(part, model, earlier)
                if isinstance(value, list):
                    joined.extend(value)
                elif value is not None:
                    joined.append(value)
            return joined
        return {k: fill_template(v, model, earlier) for k, v in template.items()}
    return template


def build_request(case: Case, step: Step, model: str | None, base_url: str, keys: dict[str, str],
                  earlier: dict[str, Any]) -> tuple[str, str, dict[str, str], bytes | None]:
    """Method, URL, headers and body of one step, with the real key in place."""
    if step.url_from:  # a URL the gateway handed back: fetched as any client would, never with the key
        url = fill_template({"$from": step.url_from}, model, earlier)
        return "GET", url if isinstance(url, str) else "", dict(step.headers), None
    op = operations()[step.operation]
    method = step.method or op.method
    path = (step.path or op.path).replace("{model}", quote(model or "", safe=""))
    key = keys.get(step.key, "")
    style = _style_of(case, step)
    headers: dict[str, str] = {}
    query: dict[str, str] = {}
    spec = auth_spec()
    if style.startswith("negative:"):
        name = style.split(":", 1)[1]
        negative = spec["negative"].get(name)
        if negative is None:
            raise UsageError(f"{case.source}: {case.id}: unknown negative auth {name!r}")
        if "key" in negative:  # a never-issued key in the family's own style
            first = spec["families"][case.family]["documented"][0]
            headers, query = _apply(spec["styles"][first], negative["key"])
        else:
            headers, query = _apply(negative, key)
    elif style != "none":
        if style not in spec["styles"]:
            raise UsageError(f"{case.source}: {case.id}: unknown auth style {style!r}")
        headers, query = _apply(spec["styles"][style], key)
    headers.update(step.headers)
    query.update({k: v.replace("{model}", model or "") for k, v in step.query.items()})
    url = join_url(base_url, path) + (("?" + urlencode(query)) if query else "")
    if step.raw_body is not None:
        body: bytes | None = step.raw_body.encode("utf-8")
    elif step.body is not None:
        body = json.dumps(fill_template(step.body, model, earlier), separators=(",", ":"), sort_keys=True).encode()
    else:
        body = None
    return method, url, headers, body


def _apply(style: dict[str, Any], key: str) -> tuple[dict[str, str], dict[str, str]]:
    # {key_bare}: the key without new-api's optional "sk-" prefix
    def fill(value: str) -> str:
        return value.replace("{key_bare}", key.removeprefix("sk-")).replace("{key}", key)

    headers = {k: fill(v) for k, v in style.get("headers", {}).items()}
    query = {k: fill(v) for k, v in style.get("query", {}).items()}
    return headers, query


def api_root(base_url: str) -> str:
    """The gateway's root: a base URL as users give it, with a trailing ``/v1`` or ``/v1beta`` (SDK style,
    with or without a slash) removed, so ``https://host``, ``https://host/v1`` and ``https://host/v1/`` reach
    the same paths for every family (OpenAI's /v1/..., Gemini's /v1beta/...)."""
    base = base_url.rstrip("/")
    for suffix in ("/v1beta", "/v1"):
        if urlsplit(base).path.endswith(suffix):
            return base[: -len(suffix)]
    return base


def join_url(base_url: str, path: str) -> str:
    """Join a base URL (see ``api_root``) and an API path that starts at the root (``/v1/...``)."""
    return api_root(base_url) + path
