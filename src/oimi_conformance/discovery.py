"""Model discovery, one for the whole harness (a run, the capability matrix, the SDK checks, the fuzzer):
``GET /v1/models`` with the main key, sent as the ``models.list`` case of ``specs/cases`` (its auth style,
the run's headers, redaction and stream limits, like any other request), read into the models to probe and
the gateway's claims about each (``supported_endpoint_types``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .cases import Case, load_cases
from .exceptions import UsageError
from .plan import CaseRun, ModelInfo
from .safe_text import no_surrogates

if TYPE_CHECKING:
    from .engine import RunConfig
    from .exchange import Exchange
    from .redact import Redactor
    from .scheduler import Scheduler

LISTING_CASE = "models.list"

# new-api routes POST /v1/responses/compact for model X to a model named X-openai-compact
# (middleware/distributor.go: getModelRequest), which operators add to a channel and which is then listed.
COMPACT_SUFFIX = "-openai-compact"


class TargetUnreachable(UsageError):
    """The base URL did not answer at all, or refused the key outright: nothing to judge."""


def listing_case() -> Case:
    case = next((c for c in load_cases() if c.id == LISTING_CASE), None)
    if case is None:
        raise UsageError(f"specs/cases has no `{LISTING_CASE}` case to discover models with")
    return case


async def discover(config: RunConfig, scheduler: Scheduler) -> list[ModelInfo]:
    """The models to probe: ``--models`` (with the listing's claims), else those ``GET /v1/models`` lists,
    bounded by ``--max-models`` / the models threshold. Sent through ``scheduler``, so the ``models.list``
    case run later reuses this answer. A target that cannot be reached, or lists nothing to probe, is a usage
    problem (TargetUnreachable)."""
    if config.dry_run and config.models:  # nothing sent: the claims stay unknown
        return [ModelInfo(m, None) for m in config.models]
    run = CaseRun(listing_case(), None, None, "bearer")
    try:
        await asyncio.wait_for(scheduler.run_case(run), scheduler.remaining())
    except asyncio.TimeoutError:
        raise TargetUnreachable(f"no model list from {config.base_url} within --max-duration "
                                f"{config.max_duration:g}s") from None
    return models_from(config, run.exchanges.get("main"))


def models_from(config: RunConfig, exchange: Exchange | None) -> list[ModelInfo]:
    """The models to probe, from the listing's answer (None: not sent)."""
    if exchange is None or exchange.fault:
        fault = exchange.fault if exchange else "not sent"
        # a target that answers badly is judged; one that cannot be reached, or with no models
        # to probe, is a usage problem
        if not config.models or (fault or "").startswith("cannot connect"):
            raise TargetUnreachable(f"{config.base_url} is unreachable: {fault}")
        return [ModelInfo(m, None) for m in config.models]
    found = listed_models(exchange.json)
    if config.models:
        return [ModelInfo(m, found.get(m)) for m in config.models]
    if exchange.status in (401, 403):
        raise TargetUnreachable(f"the key was refused when listing models (HTTP {exchange.status}); "
                                "pass a valid --api-key, or name models with --models")
    if not found:
        unreadable = exchange.json is None and exchange.body_size > 0  # not JSON, cut, or nested too deep
        raise TargetUnreachable(f"GET /v1/models listed no models (HTTP {exchange.status}"
                                + (f", a body of {exchange.body_size} bytes that is not JSON the harness can "
                                   "read" if unreadable else "") + "); name models with --models")
    listed = sorted(found.items())
    if config.max_models is not None:
        listed = listed[: config.max_models]
    elif config.models_threshold is not None and len(listed) > config.models_threshold:
        # planning grows with models x cases: a gateway listing 200,000 models must not stall the run
        raise UsageError(f"GET /v1/models listed {len(found)} models, more than the "
                         f"{config.models_threshold} a run plans unasked: name them with --models, or "
                         "pass --max-models N to probe the first N")
    return [ModelInfo(m, c) for m, c in listed]


def listed_models(body: Any) -> dict[str, frozenset[str] | None]:
    """model id -> its claims (None: the listing says nothing about it), from a parsed listing body."""
    found: dict[str, frozenset[str] | None] = {}
    data = body.get("data") if isinstance(body, dict) else None
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            claims = item.get("supported_endpoint_types")
            # a lone surrogate cannot be sent nor written as UTF-8: it becomes U+FFFD
            found.setdefault(no_surrogates(item["id"]), frozenset(c for c in claims if isinstance(c, str))
                             if isinstance(claims, list) else None)
    return fold_compact_aliases(found)


def fold_compact_aliases(found: dict[str, frozenset[str] | None]) -> dict[str, frozenset[str] | None]:
    """The listed models with each ``X-openai-compact`` folded into ``X``: probing the alias itself would
    send ``X-openai-compact-openai-compact`` to compact, and it serves nothing else. ``X`` keeps its own claims
    (an alias whose base is not listed becomes that base, claiming compact)."""
    out = {m: c for m, c in found.items() if not m.endswith(COMPACT_SUFFIX)}
    for alias, claims in found.items():
        base = alias[: -len(COMPACT_SUFFIX)] if alias.endswith(COMPACT_SUFFIX) else None
        if base and base not in out:
            out[base] = claims
    return out


def discover_live(config: RunConfig, redactor: Redactor) -> list[ModelInfo]:
    """Discovery on its own, for the fuzzer (which sends everything else through schemathesis): the same
    request, read the same way, sent live."""
    from .scheduler import Scheduler
    from .stream_limits import StreamLimits
    from .transport import LiveTransport

    limits = StreamLimits(idle_timeout=config.timeout, total_timeout=config.timeout * 4)
    scheduler = Scheduler(config, lambda: LiveTransport(redactor, limits), limits, refused=lambda run: None,
                          replaying=lambda: False)
    models: list[ModelInfo] = scheduler.run_async(discover(config, scheduler))
    return models
