"""The fuzz checks: schemathesis custom checks that judge each generated exchange with the harness's own
validators (``envelope_problems``, the body kinds and stream grammars, the key-leak rules), so a fuzz finding
reads like any other check result.

Importing this module registers them with ``@schemathesis.check`` (``schemathesis.toml`` names it as its
``hooks`` module, so a plain ``schemathesis run specs/openapi.yaml`` uses them too):

=========================  ===========================  ==================================================
schemathesis check          results.json check id        rule
=========================  ===========================  ==================================================
``oimi_negative_is_4xx``    ``fuzz.negative-is-4xx``     invalid input is refused with a 4xx: never 5xx, never 2xx
``oimi_error_envelope``     ``fuzz.error-envelope``      an error is in the documented envelope of its route
``oimi_json_content_type``  ``fuzz.json-content-type``   an error is ``application/json``, never an HTML page
``oimi_key_not_echoed``     ``fuzz.key-not-echoed``      no answer repeats the key the request presented
``oimi_body_conforms``      ``fuzz.body-conforms``       (positive) a 2xx body is the documented kind; never 5xx
=========================  ===========================  ==================================================

Which invalid input must be refused: a body that is not JSON, a body of the wrong type or without a
required top-level field, a required top-level field of the wrong JSON type, a bad path value, and a
missing or invalid credential. Other mutations (an optional field of the wrong type, a value outside an
enum or a range, a nested constraint, an optional header or query value such as ``alt``) are sent and
judged by every other check, and must never get a 5xx; but a gateway relays them to its upstream, which
decides (Google's API, for one, accepts ``"16"`` for an integer field), so a 2xx to them is no finding.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from ..redact import Redactor, secret_forms
from ..violations import Violation
from .operations import family_of, kind_variants, kinds_of

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

    from ..profile import Profile

CHECK_IDS: dict[str, str] = {
    "oimi_negative_is_4xx": "fuzz.negative-is-4xx",
    "oimi_error_envelope": "fuzz.error-envelope",
    "oimi_json_content_type": "fuzz.json-content-type",
    "oimi_key_not_echoed": "fuzz.key-not-echoed",
    "oimi_body_conforms": "fuzz.body-conforms",
    "oimi_wrong_key_refused": "fuzz.wrong-key-refused",
}
TITLES: dict[str, str] = {
    "fuzz.negative-is-4xx": "Invalid input is refused with a 4xx (never 5xx, never 2xx)",
    "fuzz.error-envelope": "An error answer is in the documented envelope of its route",
    "fuzz.json-content-type": "An error answer is application/json, never an HTML page",
    "fuzz.key-not-echoed": "No answer repeats the presented key",
    "fuzz.body-conforms": "A valid request's 2xx answer conforms to its documented kind",
    "fuzz.wrong-key-refused": "A never-issued key is refused (401/403) before anything else is judged",
}
NEGATIVE_CHECKS = ("oimi_negative_is_4xx", "oimi_error_envelope", "oimi_json_content_type", "oimi_key_not_echoed",
                   "oimi_wrong_key_refused")
POSITIVE_CHECKS = ("oimi_body_conforms", "oimi_error_envelope", "oimi_json_content_type", "oimi_key_not_echoed",
                   "oimi_wrong_key_refused")
MIN_ECHO_LENGTH = 8  # a presented credential shorter than this may occur in any body by chance
# The wrong key oimi_key_not_echoed presents once per operation (never issued, not a secret).
CANARY_KEY = "sk-oimi-fuzz-canary-7c1e0d5a9b3f4e21a8d6c0b9"


class FuzzFailure(Failure):
    """A fuzz finding, in schemathesis's terms, carrying the harness's check id and violations."""

    code = "ST999"
    kind_title = "oimi-conformance fuzz check failed"

    def __init__(self, *, check_id: str, operation: str, title: str, message: str,
                 violations: list[Violation] | None = None, evidence: Response | None = None) -> None:
        super().__init__(operation=operation, title=title, message=message)
        self.check_id = check_id
        self.violations = list(violations or [])
        self.evidence = evidence  # the answer that shows the finding, when it is not the case's own (a probe)

    @property
    def _unique_key(self) -> str:  # one finding per check and title, not one per failure class
        return f"{self.check_id}:{self.title}"


@dataclass
class FuzzContext:
    """What the checks judge with: the profile (envelopes per family), the run's secrets, and a way to
    spend one request of the budget on a probe."""

    profile: Profile
    secrets: tuple[str, ...] = ()
    spend: Callable[[], bool] = lambda: True
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (check id, operationId) -> judged
    probes: dict[str, Response | None] = field(default_factory=dict)  # operationId -> wrong-key probe answer

    def judged(self, check_id: str, operation: str) -> None:
        key = (check_id, operation)
        self.counts[key] = self.counts.get(key, 0) + 1


_CONTEXT: contextvars.ContextVar[FuzzContext | None] = contextvars.ContextVar("oimi_fuzz_context", default=None)


def use_context(context: FuzzContext) -> contextvars.Token:
    return _CONTEXT.set(context)


def reset_context(token: contextvars.Token) -> None:
    _CONTEXT.reset(token)


@cache
def _default_profile() -> Profile:
    from ..profile import load_profile

    return load_profile("oimi")


_PLAIN: dict[int, FuzzContext] = {}


def _context(case: Case) -> FuzzContext:
    found = _CONTEXT.get()
    if found is not None:
        return found
    # a plain `schemathesis run`: the keys are the ones its config gives the security schemes
    config = case.operation.schema.config
    if id(config) not in _PLAIN:
        _PLAIN[id(config)] = FuzzContext(profile=_default_profile(), secrets=configured_secrets(case.operation.schema))
    return _PLAIN[id(config)]


def configured_secrets(schema: Any) -> tuple[str, ...]:
    found = []
    for scheme in schema.config.auth.openapi.schemes.values():
        for attr in ("api_key", "bearer", "password"):
            value = getattr(scheme, attr, None)
            if isinstance(value, str) and value:
                found.append(value)
    return tuple(sorted(set(found)))


def operation_id(case: Case) -> str:
    return str(case.operation.definition.raw.get("operationId") or case.operation.label)


def _fail(case: Case, check_id: str, title: str, message: str, violations: list[Violation] | None = None,
          evidence: Response | None = None) -> NoReturn:
    raise FuzzFailure(check_id=check_id, operation=case.operation.label, title=title, message=message,
                      violations=violations, evidence=evidence)


# -- which generated cases are negative, and which of them must be refused ---------------------------------

def is_negative(case: Case) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE


def describe_negation(case: Case) -> str:
    """What makes the case invalid, in schemathesis's words, on one line."""
    if case.meta is None:
        return "a valid request"
    data = case.meta.phase.data
    text = str(getattr(data, "description", "") or getattr(data, "scenario", "") or "invalid input")
    return " / ".join(line.strip("- ").strip() for line in text.splitlines() if line.strip())


def must_refuse(case: Case) -> bool:
    """Whether a negative case is invalid in a way every gateway must refuse (see the module docstring). The
    body is judged as sent, against the harness's request schema, not by what schemathesis meant to break."""
    if not is_negative(case):
        return False
    if case.operation.schema.is_security_param_negated(case):
        return True
    components = case.meta.components if case.meta is not None else {}
    if components.get(ParameterLocation.PATH) is not None and \
            components[ParameterLocation.PATH].mode == GenerationMode.NEGATIVE:
        return True
    data = case.meta.phase.data if case.meta is not None else None
    if str(getattr(data, "scenario", "") or "") == "unspecified_http_method":
        return True
    body_negated = components.get(ParameterLocation.BODY) is not None and \
        components[ParameterLocation.BODY].mode == GenerationMode.NEGATIVE
    return body_negated and bool(body_faults(case))


def body_faults(case: Case) -> list[str]:
    """What makes the body invalid for every gateway: not JSON, not an object, a required top-level field
    missing or of a JSON type its schema does not allow."""
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError, UnicodeDecodeError):
            return ["the body is not JSON"]
    if not isinstance(body, dict):
        return [f"the body is a JSON {_json_type(body)}, not an object"]
    schema_name = request_schema(operation_id(case))
    if schema_name is None:
        return []
    document = load_schema_file(schema_name)
    found = []
    properties = document.get("properties") or {}
    for name in document.get("required") or ():
        if name not in body:
            found.append(f"required field {name} is missing")
            continue
        allowed = allowed_types(properties.get(name), schema_name)
        kind = _json_type(body[name])
        if allowed is not None and kind not in allowed and not (kind == "integer" and "number" in allowed):
            found.append(f"required field {name} is a JSON {kind}, not {' or '.join(sorted(allowed))}")
    return found


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def allowed_types(schema: Any, file: str, depth: int = 0) -> frozenset[str] | None:
    """The JSON types a schema admits (None: any, or not known)."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "$ref" in schema:
        target, target_file = _resolve(schema["$ref"], file)
        return allowed_types(target, target_file, depth + 1)
    if "type" in schema:
        kinds = schema["type"]
        return frozenset([kinds] if isinstance(kinds, str) else kinds)
    if "const" in schema:
        return frozenset([_json_type(schema["const"])])
    if "enum" in schema:
        return frozenset(_json_type(v) for v in schema["enum"])
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            union: set[str] = set()
            for branch in schema[keyword]:
                kinds = allowed_types(branch, file, depth + 1)
                if kinds is None:
                    return None
                union |= kinds
            return frozenset(union)
    return None


def _resolve(ref: str, file: str) -> tuple[Any, str]:
    target_file, _, fragment = ref.partition("#")
    if target_file:
        folder = file.rsplit("/", 1)[0] + "/" if "/" in file else ""
        file = folder + target_file
    node: Any = load_schema_file(file)
    for part in [p for p in fragment.split("/") if p]:
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    return node, file


def required_fields(case: Case) -> frozenset[str]:
    schema = request_schema(operation_id(case))
    return frozenset(load_schema_file(schema).get("required") or ()) if schema else frozenset()


@cache
def request_schema(operation: str) -> str | None:
    """The request body schema of an operation, relative to specs/schemas (``openai/chat.completion.request.json``)."""
    from ..specdir import load_data

    for item in load_data("openapi.yaml").get("paths", {}).values():
        for entry in item.values():
            if isinstance(entry, dict) and entry.get("operationId") == operation:
                ref = (((entry.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get(
                    "schema", {}).get("$ref")
                if isinstance(ref, str) and ref.startswith("schemas/") and "#" not in ref:
                    return ref[len("schemas/"):]
    return None


@cache
def load_schema_file(name: str) -> dict[str, Any]:
    from ..specdir import load_data

    return load_data(f"schemas/{name}")


def body_is_valid(case: Case) -> bool:
    """Whether the case's body validates against the harness's own request schema. schemathesis can call
    a body negative that is not (``input: [0]`` after changing the type of one ``anyOf`` branch)."""
    from ..schemas import default_store

    schema = request_schema(operation_id(case))
    body = case.body
    if schema is None or not isinstance(body, (dict, list, str, int, float, bool)) or body is None:
        return False
    try:
        return default_store().get(schema).is_valid(body)
    except Exception:  # an unreadable schema judges nothing valid
        return False


def negative_only_in_body(case: Case) -> bool:
    components = case.meta.components if case.meta is not None else {}
    negated = {location for location, info in components.items() if info.mode == GenerationMode.NEGATIVE}
    return negated == {ParameterLocation.BODY}


# -- reading an answer ---------------------------------------------------------------------------------------

def content_type(response: Response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";")[0].strip().lower()


def as_exchange(response: Response) -> Any:
    """A minimal harness Exchange of a schemathesis response, for the harness's validators."""
    from ..exchange import Exchange

    request = response.request
    return Exchange(id="", method=str(request.method), url=str(request.url), request_headers={},
                    request_body=None, status=response.status_code,
                    response_headers={k.lower(): v[0] for k, v in response.headers.items() if v},
                    body=response.content or b"")


def presented_credentials(response: Response) -> list[str]:
    """The credentials the request carried (bearer token, x-api-key, x-goog-api-key, ?key=)."""
    request = response.request
    headers = {k.lower(): str(v) for k, v in (request.headers or {}).items()}
    found = []
    auth = headers.get("authorization", "").strip()
    if auth:
        found.append(auth)
        _, _, token = auth.partition(" ")
        if token.strip():
            found.append(token.strip())
    for name in ("x-api-key", "x-goog-api-key", "api-key"):
        if headers.get(name, "").strip():
            found.append(headers[name].strip())
    for name, value in parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True):
        if name.lower() in ("key", "api_key", "api-key") and value.strip():
            found.append(value.strip())
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def echoes(response: Response, secret: str) -> bool:
    """Whether the answer (headers or body, raw or JSON-decoded) repeats ``secret``."""
    body = response.content or b""
    blobs = [body, "\n".join(v for values in response.headers.values() for v in values).encode("utf-8", "replace")]
    if any(form in blob for form in secret_forms(secret) for blob in blobs):
        return True
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return False
    return any(secret in text for text in _strings(decoded))


def _redactor(context: FuzzContext, extra: list[str] | None = None) -> Redactor:
    return Redactor([*context.secrets, *(extra or [])])


# -- the checks ----------------------------------------------------------------------------------------------

@schemathesis.check
def oimi_negative_is_4xx(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Invalid input is refused with a 4xx: never a 5xx, and never a 2xx for input every gateway must refuse."""
    if not is_negative(case):
        return None
    context = _context(case)
    check_id = CHECK_IDS["oimi_negative_is_4xx"]
    context.judged(check_id, operation_id(case))
    status = response.status_code
    redactor = _redactor(context, presented_credentials(response))
    if status >= 500:
        what = redactor.text(describe_negation(case))
        _fail(case, check_id, f"Server error on invalid input (HTTP {status})",
              f"invalid input ({what}) answered HTTP {status}; expected a 4xx")
    if not 400 <= status < 500 and must_refuse(case):
        what = redactor.text("; ".join(body_faults(case)) or describe_negation(case))
        title = "Accepted invalid input" if 200 <= status < 300 else "Invalid input not refused"
        _fail(case, check_id, f"{title} (HTTP {status})",
              f"invalid input ({what}) answered HTTP {status}; expected a 4xx")
    return None


@schemathesis.check
def oimi_error_envelope(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An error answer with a JSON content type is in one of the envelopes the profile accepts for its route."""
    if response.status_code < 400 or content_type(response) != "application/json":
        return None  # a non-JSON error is oimi_json_content_type's finding
    from ..checks.common import envelope_problems

    context = _context(case)
    op = operation_id(case)
    check_id = CHECK_IDS["oimi_error_envelope"]
    context.judged(check_id, op)
    accepted = context.profile.envelopes_for(family_of().get(op, "openai"))
    problems = envelope_problems(as_exchange(response), accepted)
    if problems:
        redactor = _redactor(context, presented_credentials(response))
        problems = [Violation(v.rule, redactor.text(v.message), v.pointer, v.spec) for v in problems]
        _fail(case, check_id, f"Error not in the documented envelope (HTTP {response.status_code})",
              f"HTTP {response.status_code}: {problems[0].message}", problems)
    return None


@schemathesis.check
def oimi_json_content_type(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """An error answer says Content-Type: application/json (an HTML error page breaks every SDK)."""
    if response.status_code < 400:
        return None
    context = _context(case)
    check_id = CHECK_IDS["oimi_json_content_type"]
    context.judged(check_id, operation_id(case))
    got = content_type(response)
    if got != "application/json":
        html = (response.content or b"").lstrip()[:1] == b"<" or got == "text/html"
        title = "Error answered with an HTML page" if html else f"Error answered with {got or 'no Content-Type'}"
        _fail(case, check_id, title, f"HTTP {response.status_code} answered with Content-Type "
              f"{got or 'none'}{' (an HTML page)' if html else ''}; expected application/json",
              [Violation("errors.content-type", f"error answered with {got or 'no Content-Type'}, "
                         "expected application/json")])
    return None


@schemathesis.check
def oimi_key_not_echoed(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No answer repeats a key of the run, nor the credential its request presented (8 characters or more),
    raw, URL-encoded, JSON-escaped or base64. Once per operation the same request is also sent with a
    wrong key in the same place (gateways that leak keys do it in the refusal: "Invalid token <key>"), and
    that refusal must not repeat it either."""
    context = _context(case)
    op = operation_id(case)
    check_id = CHECK_IDS["oimi_key_not_echoed"]
    context.judged(check_id, op)
    presented = [p for p in presented_credentials(response) if len(p) >= MIN_ECHO_LENGTH]
    leaked = [s for s in context.secrets if echoes(response, s)]
    leaked += [p for p in presented if p not in leaked and echoes(response, p)]
    if leaked:
        which = "a key of the run" if any(s in context.secrets for s in leaked) else "the presented credential"
        _fail(case, check_id, "Key echoed in the answer",
              f"HTTP {response.status_code} repeats {which} (shown as REDACTED in this report)",
              [Violation("auth.key-echoed", f"the answer repeats {which}")])
    if presented and op not in context.probes:
        context.probes[op] = _wrong_key_probe(case, response, context)
    probe = context.probes.get(op)
    if presented and probe is not None and echoes(probe, CANARY_KEY):
        _fail(case, check_id, "Wrong key echoed in the refusal",
              f"a request with a wrong key answered HTTP {probe.status_code} repeating that key",
              [Violation("auth.key-echoed", "the refusal of a wrong key repeats the key")], evidence=probe)
    return None


@schemathesis.check
def oimi_wrong_key_refused(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Ignored auth (schemathesis's ``ignored_auth`` idea, with the harness's own probe): the once-per-operation
    request with a never-issued key in place of the credential must be refused with 401 or 403. Any other
    answer means the gateway went past the key: a 2xx serves a stranger, and a 400/404/422 judged the body
    (or the model) of a caller it never identified; new-api, LiteLLM and the official APIs check the key first."""
    context = _context(case)
    op = operation_id(case)
    if not presented_credentials(response):
        return None  # no credential in the request: nothing to replace with a wrong key
    if op not in context.probes:
        context.probes[op] = _wrong_key_probe(case, response, context)
    probe = context.probes.get(op)
    if probe is None:
        return None
    check_id = CHECK_IDS["oimi_wrong_key_refused"]
    context.judged(check_id, op)
    if probe.status_code not in (401, 403):
        title = "Never-issued key accepted" if probe.status_code < 400 else "Never-issued key not refused"
        _fail(case, check_id, f"{title} (HTTP {probe.status_code})",
              f"the same request with a key no gateway issued answered HTTP {probe.status_code}; expected 401",
              [Violation("auth.ignored", "a never-issued key was not refused")], evidence=probe)
    return None


def _wrong_key_probe(case: Case, response: Response, context: FuzzContext) -> Response | None:
    """The same request with the canary key where the request carried its credential (None: not sent)."""
    sent = {k.lower(): k for k in (response.request.headers or {})}
    from requests.structures import CaseInsensitiveDict  # the container Case.headers is

    headers = dict(case.headers or {})
    names = {k.lower(): k for k in headers}
    changed = False
    for lower in ("authorization", "x-api-key", "x-goog-api-key"):
        if lower in sent:
            headers[names.get(lower, sent[lower])] = f"Bearer {CANARY_KEY}" if lower == "authorization" else CANARY_KEY
            changed = True
    query = dict(case.query or {})
    if "key" in query:
        query["key"] = CANARY_KEY
        changed = True
    if not changed or not context.spend():
        return None
    try:
        return case.derive(headers=CaseInsensitiveDict(headers), query=query).call()
    except Exception:  # no answer to the probe: nothing it can show
        return None


@schemathesis.check
def oimi_body_conforms(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A valid request's 2xx answer is a body of the kind its operation documents (``x-oimi-kind``), streams
    judged event by event by the harness's stream readers and grammar; a valid request never gets a 5xx."""
    if is_negative(case):
        return None
    context = _context(case)
    op = operation_id(case)
    check_id = CHECK_IDS["oimi_body_conforms"]
    status = response.status_code
    if status >= 500:
        context.judged(check_id, op)
        _fail(case, check_id, f"Server error to a valid request (HTTP {status})",
              f"a valid request answered HTTP {status}")
    if not 200 <= status < 300:
        return None  # a clean 4xx (unsupported, refused) is judged by the envelope checks
    context.judged(check_id, op)
    kind = kind_for(case, response)
    if kind is None:
        got = content_type(response) or "no Content-Type"
        _fail(case, check_id, "Undocumented content type", f"HTTP {status} answered {got}, which "
              f"{op} does not document", [Violation("http.content-type", f"undocumented Content-Type {got}")])
    from ..kinds import judge

    request = _request_json(response)
    verdict = judge(kind, response.content or b"", request if isinstance(request, dict) else None)
    if not verdict.ok:
        redactor = _redactor(context, presented_credentials(response))
        found = [Violation(v.rule, redactor.text(v.message), v.pointer, v.spec) for v in verdict.violations]
        first = found[0]
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        _fail(case, check_id, f"Body does not conform to {kind}",
              f"{first.pointer or '/'}: {first.message} [{first.rule}]{more}", found)
    return None


def kind_for(case: Case, response: Response) -> str | None:
    definition = case.operation.definition.raw
    kinds = kinds_of(definition)
    media = content_type(response)
    kind = kinds.get(media)
    if kind is None:
        return None
    headers = {k.lower() for k in (response.request.headers or {})}
    for variant in kind_variants(definition, media):
        if variant.get("kind") == "anthropic.models" and {"x-api-key", "anthropic-version"} <= headers:
            return variant["kind"]
    return kind


def _request_json(response: Response) -> Any:
    body = response.request.body
    if not isinstance(body, (str, bytes)):  # None, or a stream schemathesis never builds
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError, TypeError):
        return None


@schemathesis.hook
def filter_case(context: Any, case: Case) -> bool:
    """When only negative mode is configured, never send a case that came out valid (a body override or a
    pinned field can undo its mutation, and a "negative" body can still match the schema): on a paid
    gateway a valid request costs money."""
    if case.meta is None:
        return True
    generation = case.operation.schema.config.generation_for(operation=case.operation)
    if list(generation.modes) != [GenerationMode.NEGATIVE]:
        return True
    if case.meta.generation.mode != GenerationMode.NEGATIVE:
        return False
    # a body schemathesis calls invalid but the request schema accepts is a valid request too
    return not (negative_only_in_body(case) and body_is_valid(case))
