"""The options of a fuzz run, and the schemathesis configuration they make.

Everything schemathesis does is set through its own configuration (what ``schemathesis.toml`` holds): the
credential of each security scheme (``[auth.openapi.<scheme>]``, so schemathesis knows which parameters are
credentials and can negate them on purpose), the seed, the generation mode, the examples per operation, the
checks, and ``[parameters]`` overrides for the model and the output-size fields. Nothing is added to requests
by hand.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import UsageError
from ..plan import api_root
from .checks import NEGATIVE_CHECKS, POSITIVE_CHECKS
from .operations import negative_extra_pins, output_pins, path_model, positive_query_pins

DEFAULT_SEED = 1
DEFAULT_MAX_EXAMPLES = 10
DEFAULT_POSITIVE_BUDGET = 50  # --positive without --max-requests
MODEL_PROBABILITY = 0.9  # negative mode: the other 10% of cases fuzz the model in the path
MAX_STREAM_EVENTS = 2000


@dataclass
class FuzzOptions:
    seed: int = DEFAULT_SEED
    max_examples: int = DEFAULT_MAX_EXAMPLES
    positive: bool = False
    max_requests: int | None = None
    operations: list[str] | None = None  # operationId globs
    shrink: bool = True
    coverage: bool = False  # also schemathesis's coverage phase (systematic, many more requests)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_examples < 1:
            raise UsageError("--max-examples must be at least 1")
        if self.max_requests is not None and self.max_requests < 1:
            raise UsageError("--max-requests must be at least 1")
        if self.positive and self.max_requests is None:
            self.max_requests = DEFAULT_POSITIVE_BUDGET

    @property
    def mode(self) -> str:
        return "positive" if self.positive else "negative"

    @property
    def checks(self) -> tuple[str, ...]:
        return POSITIVE_CHECKS if self.positive else NEGATIVE_CHECKS

    def selects(self, operation_id: str) -> bool:
        return not self.operations or any(fnmatch.fnmatchcase(operation_id, p) for p in self.operations)


@dataclass
class FuzzTarget:
    """What schemathesis is pointed at: the base URL, the key, a model per operation, extra headers."""

    base_url: str
    key: str
    models: dict[str, str] = field(default_factory=dict)  # operationId -> model id
    headers: dict[str, str] = field(default_factory=dict)  # --header: sent with every generated case


def _dictionary_name(model: str) -> str:
    return "model_" + re.sub(r"[^A-Za-z0-9_]", "_", model)


def schemathesis_config(target: FuzzTarget, options: FuzzOptions, operation_ids: list[str]) -> dict[str, Any]:
    """The schemathesis configuration (``schemathesis.toml`` as a dict) of one run."""
    key = target.key
    operations: list[dict[str, Any]] = []
    dictionaries: dict[str, Any] = {}
    pins, query_pins, negative_pins = output_pins(), positive_query_pins(), negative_extra_pins()
    in_path = path_model()
    for op in operation_ids:
        parameters: dict[str, Any] = dict(pins.get(op, {}))
        if options.positive:
            parameters.update(query_pins.get(op, {}))
        else:
            parameters.update(negative_pins.get(op, {}))
        model = target.models.get(op)
        if model and op == "retrieveModel" and not options.positive:
            pass  # a GET: any model id is fine to send, and an unknown one must be a clean 404
        elif model and op in in_path and not options.positive:
            # negative: most cases name the model, the rest fuzz the path segment (a bad path value)
            name = _dictionary_name(model)
            dictionaries[name] = {"values": [model]}
            parameters["path.model"] = {"dictionary": name, "probability": MODEL_PROBABILITY}
        elif model:
            # a body that names a real model reaches the gateway's validation instead of stopping at 404
            parameters["path.model" if op in in_path else "body.model"] = model
        entry: dict[str, Any] = {"include-operation-id": op, "enabled": options.selects(op)}
        if parameters:
            entry["parameters"] = parameters
        operations.append(entry)
    checks: dict[str, Any] = {"enabled": False}
    for name in options.checks:
        checks[name] = {"enabled": True}
    config: dict[str, Any] = {
        "seed": options.seed,
        "base-url": api_root(target.base_url),  # the spec's paths start at /v1 and /v1beta
        "request-timeout": options.timeout,
        "max-stream-events": MAX_STREAM_EVENTS,
        "suppress-health-check": ["all"],
        # schemathesis would mine string constants from the Python code it runs in (this harness, its
        # sandbox's keys included): generated values come from the spec alone
        "analysis": {"constants": {"enabled": False}},
        "cache": {"enabled": False},  # nothing replayed from an earlier run, nothing written to .schemathesis/
        "generation": {
            "mode": options.mode,
            "max-examples": options.max_examples,
            "database": "none",  # no example replayed from an earlier run: the seed alone decides
            "no-shrink": not options.shrink,
            "allow-extra-parameters": False,  # unknown query/header names are ignored by every gateway
            # credentials are the configured ones: cases spend themselves on the input, not on a missing key
            # (oimi_key_not_echoed probes each operation once with a wrong key; the auth suite owns the rest)
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": options.coverage},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": checks,
        "auth": {"openapi": {
            "bearerAuth": {"bearer": key},
            "anthropicKey": {"api_key": key},
            "googApiKey": {"api_key": key},
            "googQueryKey": {"api_key": key},
        }},
        "operations": operations,
    }
    if dictionaries:
        config["dictionaries"] = dictionaries
    if target.headers:  # schemathesis's own project-level headers: every case, the wrong-key probe included
        config["headers"] = dict(target.headers)
    return config
