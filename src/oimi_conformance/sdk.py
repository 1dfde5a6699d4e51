"""The official SDKs as clients of the target: openai-python, anthropic-sdk-python and google-genai.

A gateway is compatible when real clients work against it. Each SDK check (``checks/sdk.py``, area
``sdk``) makes one call, or a few, of an official SDK against the run's target, with the run's base URL,
key and timeout, ``max_retries=0`` and tiny outputs, and passes when the SDK gives its user what its
documentation promises: the right objects, the text, a final message, the documented exception class.
It fails with what the SDK did instead. The checks are in the catalogue, but they judge no recorded
exchange: they run live only, when asked (``--sdk``, or ``--checks sdk.*``), through
``suites/sdk/test_sdk.py``; a replay skips them. Every result records the SDK's version
(``sdk_version``) and the model it used.

Which model: for each endpoint, the models the gateway claims it for (``supported_endpoint_types``),
the ones claiming the most endpoints first, else every listed model in order; a model that answers a
clean 4xx (unsupported) gives way to the next, and the first one that serves the endpoint is kept for
the endpoint's other checks. None of the SDKs is a dependency of the harness: ``pip install
'oimi-conformance[sdk]'``; a check whose SDK is missing is skipped, naming the package.
"""

from __future__ import annotations

import importlib.metadata
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .checks import Check, CheckSkipped, select
from .exceptions import ContractViolation, UsageError
from .outcomes import OutcomePolicy, start
from .plan import ModelInfo, api_root, join_url
from .profile import Expectations, Profile
from .redact import Redactor
from .results import CheckResult

# SDK name (the second part of a check id) -> (PyPI package, import name, how its key is sent)
SDKS: dict[str, tuple[str, str, str]] = {
    "openai": ("openai", "openai", "bearer"),
    "anthropic": ("anthropic", "anthropic", "x-api-key"),
    "google": ("google-genai", "google.genai", "x-goog-api-key"),
}
MAX_CANDIDATES = 6  # models tried for one endpoint before the check is skipped as unsupported
CLEAN_REFUSALS = (400, 404, 405, 422)  # statuses that mean "this model does not serve this endpoint"


@dataclass
class SdkTarget:
    """The run's target as the SDKs see it."""

    base_url: str  # the gateway's root: SDKs add /v1 (openai), /v1/messages (anthropic), /v1beta (google)
    key: str
    models: list[ModelInfo]
    profile: Profile
    expectations: Expectations = field(default_factory=Expectations)
    timeout: float = 30.0
    strict_expectations: bool = False
    live: bool = True  # False on replay: the SDK checks are skipped
    redactor: Redactor = field(default_factory=Redactor)
    preferred: dict[str, str] = field(default_factory=dict)  # endpoint -> the model that served it
    headers: dict[str, str] = field(default_factory=dict)  # --header: every SDK sends them (default_headers)

    @property
    def root(self) -> str:
        return api_root(self.base_url)


def sdk_version(sdk: str) -> str | None:
    package = SDKS[sdk][0]
    try:
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return None


class SdkContext:
    """What one SDK check works with: clients bound to the target, the wire it saw, notes for the result."""

    def __init__(self, check: Check[SdkContext], target: SdkTarget) -> None:
        self.check = check
        self.target = target
        self.sdk = check.id.split(".")[1]
        self.model: str | None = None
        self.notes: list[str] = []
        self.wire: list[dict[str, Any]] = []  # every request the SDK sent: method, path, header names, status

    # -- outcomes -------------------------------------------------------------------------------

    def fail(self, message: str) -> NoReturn:
        raise ContractViolation(message)

    def skip(self, reason: str) -> NoReturn:
        raise CheckSkipped(reason)

    # -- clients --------------------------------------------------------------------------------

    def _hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        def on_request(request: Any) -> None:
            self.wire.append({"method": request.method, "path": request.url.path,
                              "query": sorted(k for k, _ in request.url.params.multi_items()),
                              "headers": sorted(k.lower() for k in request.headers), "status": None})

        def on_response(response: Any) -> None:
            if self.wire:
                self.wire[-1]["status"] = response.status_code

        return {"request": [on_request], "response": [on_response]}

    def openai(self, key: str | None = None) -> Any:
        import openai

        return openai.OpenAI(api_key=key or self.target.key, base_url=join_url(self.target.base_url, "/v1"),
                             max_retries=0, timeout=self.target.timeout, default_headers=self.target.headers or None,
                             http_client=openai.DefaultHttpxClient(event_hooks=self._hooks()))

    def anthropic(self, key: str | None = None) -> Any:
        import anthropic

        return anthropic.Anthropic(api_key=key or self.target.key, base_url=self.target.root, max_retries=0,
                                   timeout=self.target.timeout, default_headers=self.target.headers or None,
                                   http_client=anthropic.DefaultHttpxClient(event_hooks=self._hooks()))

    def genai(self, key: str | None = None) -> Any:
        from google import genai
        from google.genai import types

        try:
            import httpx2 as httpx_module  # google-genai prefers httpx2 when it is installed
        except ImportError:  # pragma: no cover - older google-genai
            import httpx as httpx_module  # type: ignore[no-redef]  # the same Client API under either name
        client = httpx_module.Client(timeout=self.target.timeout, event_hooks=self._hooks())
        options = types.HttpOptions(base_url=self.target.root, api_version="v1beta",
                                    timeout=int(self.target.timeout * 1000), httpx_client=client,
                                    headers=dict(self.target.headers) or None,
                                    retry_options=types.HttpRetryOptions(attempts=1))
        return genai.Client(api_key=key or self.target.key, http_options=options)

    # -- models ---------------------------------------------------------------------------------

    def candidates(self, endpoint: str) -> list[str]:
        models = self.target.models
        claimed = [m for m in models if m.claims_endpoint(endpoint)]
        # the models claiming the most endpoints first: a general model before a specialised or broken one
        ordered = sorted(claimed, key=lambda m: -len(m.claims or ())) if claimed \
            else [m for m in models if m.claims_endpoint(endpoint) is None]
        names = [m.id for m in ordered]
        preferred = self.target.preferred.get(endpoint)
        if preferred in names:
            names.remove(preferred)
            names.insert(0, preferred)
        return names[:MAX_CANDIDATES]

    def with_model(self, endpoint: str, call: Callable[[str], Any]) -> Any:
        """``call(model)`` on the first model that serves ``endpoint``; skipped when none does."""
        refused = []
        for model in self.candidates(endpoint):
            self.model = model
            try:
                answer = call(model)
            except Exception as exc:
                status = status_of(exc)
                if status in CLEAN_REFUSALS:
                    refused.append(f"{model}: HTTP {status}")
                    continue
                raise
            self.target.preferred[endpoint] = model
            if refused:
                self.notes.append(f"models that refused {endpoint}: {', '.join(refused)}")
            return answer
        self.model = None
        tried = "; ".join(refused) or "no model listed"
        self.skip(f"unsupported: no model serves {endpoint} ({tried})")

    def any_model(self, endpoint: str) -> str:
        names = self.candidates(endpoint) or [m.id for m in self.target.models]
        if not names:
            self.skip("the gateway lists no model")
        self.model = self.target.preferred.get(endpoint) or names[0]
        return self.model

    # -- what the SDK did -----------------------------------------------------------------------

    def expect_type(self, answer: Any, name: str) -> Any:
        """The SDK must hand its user a ``name`` object; a str means it got no JSON (the SDK's fallback)."""
        if type(answer).__name__ not in (name, f"Parsed{name}"):
            self.fail(f"the SDK returned a {type(answer).__name__}, not a {name}: {str(answer)[:120]!r}")
        return answer

    def expect_exception(self, call: Callable[[], Any], expected: tuple[type[BaseException], ...],
                         what: str) -> BaseException:
        """``call()`` must raise one of ``expected``; fail naming the class it raised (and the retry it
        would have caused) or that it returned."""
        try:
            call()
        except expected as exc:
            return exc
        except Exception as exc:
            if _blame(exc) == "transport":
                raise  # no answer at all: an error, not a wrong exception class
            self.fail(f"{what}: expected {' or '.join(e.__name__ for e in expected)}, the SDK raised "
                      f"{describe(exc)}{self.retry_note(exc)}")
        self.fail(f"{what}: expected {' or '.join(e.__name__ for e in expected)}, the call returned normally")

    def retry_note(self, exc: BaseException) -> str:
        """Whether the SDK, with its default retry policy, would have repeated this request."""
        response = getattr(exc, "response", None)
        if response is None or self.sdk == "google":
            return ""
        module = __import__(self.sdk)
        retries = getattr(module, "DEFAULT_MAX_RETRIES", 2)
        client = self.openai() if self.sdk == "openai" else self.anthropic()
        try:
            again = bool(client._should_retry(response))  # the SDK's own rule (408, 409, 429, 5xx, x-should-retry)
        except Exception:  # pragma: no cover - a future SDK without the private helper
            again = response.status_code in (408, 409, 429) or response.status_code >= 500
        if not again:
            return ""
        return (f"; with its default max_retries={retries}, {SDKS[self.sdk][0]} would have sent this request "
                f"{retries + 1} times before raising")


def status_of(exc: BaseException) -> int | None:
    for name in ("status_code", "code"):
        value = getattr(exc, name, None)
        if isinstance(value, int):
            return value
    return None


def describe(exc: BaseException) -> str:
    status = status_of(exc)
    text = str(exc).replace("\n", " ")
    return f"{type(exc).__module__.split('.')[0]}.{type(exc).__name__}" + (f" (HTTP {status})" if status else "") \
        + (f": {text[:200]}" if text else "")


# -- running the checks -------------------------------------------------------------------------

def sdk_checks(patterns: list[str] | None = None, exclude: list[str] | None = None) -> list[Check[SdkContext]]:
    """The SDK checks selected by ``patterns`` (those of them that name sdk.* ids; all when none do)."""
    named = [p for p in patterns or [] if p.startswith("sdk")]
    return [c for c in select(named or ["sdk.*"], exclude) if c.area == "sdk"]


def requested(sdk_flag: bool, patterns: list[str] | None) -> bool:
    """SDK checks run when ``--sdk`` is given or ``--checks`` names them."""
    return bool(sdk_flag) or any(p.startswith("sdk") for p in patterns or [])


def run_sdk_check(check: Check[SdkContext], target: SdkTarget) -> CheckResult:
    """One SDK check against the target, settled by the one results pipeline (``outcomes.py``)."""
    sdk = check.id.split(".")[1]
    package, module, style = SDKS[sdk]
    policy = OutcomePolicy(target.expectations, target.redactor, target.strict_expectations)
    result = start(check, case_id=f"sdk.{sdk}", endpoint="sdk", capability=f"sdk.{sdk}",
                   operation=check.id.split(".", 2)[2], model=None, auth=style, stream="stream" in check.id,
                   sdk_version=sdk_version(sdk))
    if not target.live:
        return policy.skipped(result, "the official SDKs run live only; a replay has no gateway to call")
    try:
        __import__(module)
    except ImportError:
        return policy.skipped(result, f"{package} is not installed: pip install 'oimi-conformance[sdk]'")
    ctx = SdkContext(check, target)
    started = time.monotonic()
    try:
        check.func(ctx)
    except ContractViolation as exc:
        result.model = ctx.model
        return policy.violated(result, _with_notes(f"{result.sdk_version}: {exc}", ctx))
    except CheckSkipped as exc:
        result.model = ctx.model
        return policy.skipped(result, str(exc), exc.unsupported)
    except Exception as exc:
        result.model = ctx.model
        kind = _blame(exc)
        if kind == "transport":  # no answer to judge: never blamed on the contract
            return policy.no_answer(result, describe(exc))
        if kind == "harness":
            return policy.internal_error(result, describe(exc))
        # the SDK raised where its user expected an answer: the gateway's answer broke the client
        return policy.violated(result, _with_notes(
            f"{result.sdk_version}: the SDK raised {describe(exc)}{ctx.retry_note(exc)}", ctx))
    result.model = ctx.model
    elapsed = time.monotonic() - started
    return policy.passed(result, _with_notes(f"{result.sdk_version}: {_wire_summary(ctx)} in {elapsed:.2f} s", ctx))


SDK_PATHS = ("/openai/", "/anthropic/", "/google/genai/", "/httpx/", "/httpx2/", "/httpcore/", "/httpcore2/",
             "/pydantic/", "/pydantic_core/", "/json/")
TRANSPORT_ERRORS = ("APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout",
                    "ReadError", "RemoteProtocolError", "TimeoutException", "WriteError", "PoolTimeout")


def _blame(exc: BaseException) -> str:
    """transport (no answer came), sdk (the SDK choked on the answer, or raised for an error status) or
    harness (a bug in the check itself)."""
    if any(c.__name__ in TRANSPORT_ERRORS for c in type(exc).__mro__):
        return "transport"
    if status_of(exc) is not None or type(exc).__module__.split(".")[0] in ("openai", "anthropic", "google"):
        return "sdk"
    frames = traceback.extract_tb(exc.__traceback__)
    return "sdk" if frames and any(p in frames[-1].filename.replace("\\", "/") for p in SDK_PATHS) else "harness"


def _with_notes(message: str, ctx: SdkContext) -> str:
    return message + "".join(f" [{note}]" for note in ctx.notes)


def _wire_summary(ctx: SdkContext) -> str:
    calls = [f"{w['method']} {w['path']} -> {w['status']}" for w in ctx.wire]
    return ", ".join(calls) if calls else "no request"


def target_of(engine: Any) -> SdkTarget:
    """The SDK target of a prepared engine: its base URL, main key, models, profile and expectations."""
    config = engine.config
    return SdkTarget(base_url=config.base_url, key=config.keys.get("main", ""), models=list(engine.models),
                     profile=config.profile, expectations=config.expectations, timeout=config.timeout,
                     strict_expectations=bool(getattr(config, "strict_expectations", False)),
                     live=not (engine.library is not None and engine.replaying), redactor=engine.redactor,
                     headers=dict(config.headers.values) if getattr(config, "headers", None) else {})


# -- the pytest side (suites/sdk/test_sdk.py) ---------------------------------------------------

def pytest_sdk_checks(config: Any) -> list[Check[SdkContext]]:
    """The SDK checks this pytest session runs: none unless ``--sdk`` or ``--checks sdk.*``."""
    from .prepared_run import run_of

    options = run_of(config).options  # `oimi-conformance run` hands its own options in; plain pytest reads its flags
    if not requested(options.sdk, options.checks):
        return []
    if getattr(options, "shard", None) and not str(options.shard).strip().startswith("1/"):
        return []  # not split: shard 1 runs the SDK checks
    try:
        return sdk_checks(options.checks, options.exclude_checks)
    except UsageError:
        return []


def pytest_sdk_result(config: Any, check: Check[SdkContext]) -> CheckResult:
    """Run one SDK check against the session's target and record it in the session's results.json."""
    from .prepared_run import run_of

    run = run_of(config)
    result = run_sdk_check(check, run.sdk_target())
    run.results[f"{check.id}@sdk"] = result
    return result
