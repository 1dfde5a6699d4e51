"""The one model discovery: reading GET /v1/models into the models to probe."""

from __future__ import annotations

import json

import pytest

from oimi_conformance.discovery import TargetUnreachable, models_from
from oimi_conformance.engine import RunConfig
from oimi_conformance.exceptions import UsageError
from oimi_conformance.exchange import Exchange
from oimi_conformance.profile import load_profile


def _config(**extra) -> RunConfig:
    return RunConfig(base_url="http://127.0.0.1:9", keys={"main": "sk-test-key-0000"}, profile=load_profile("oimi"),
                     **extra)


def _listing(status: int, body: object, fault: str | None = None) -> Exchange:
    return Exchange("models.list/-/main", "GET", "http://127.0.0.1:9/v1/models", {}, None, status=status,
                    response_headers={"content-type": "application/json"}, body=json.dumps(body).encode(),
                    fault=fault)


LISTING = {"data": [{"id": "b", "supported_endpoint_types": ["openai"]}, {"id": "a"},
                    {"id": "c-openai-compact", "supported_endpoint_types": ["openai-response-compact"]},
                    {"id": "a"}, {"id": 7}]}


def test_the_listing_gives_the_models_sorted_with_their_claims_and_compact_aliases_folded():
    models = models_from(_config(), _listing(200, LISTING))
    assert [(m.id, m.claims) for m in models] == [("a", None), ("b", frozenset({"openai"})),
                                                  ("c", frozenset({"openai-response-compact"}))]


def test_named_models_keep_the_listings_claims():
    models = models_from(_config(models=["b", "zz"]), _listing(200, LISTING))
    assert [(m.id, m.claims) for m in models] == [("b", frozenset({"openai"})), ("zz", None)]


def test_max_models_and_the_threshold_bound_the_listing():
    assert [m.id for m in models_from(_config(max_models=1), _listing(200, LISTING))] == ["a"]
    with pytest.raises(UsageError, match="--max-models"):
        models_from(_config(models_threshold=2), _listing(200, LISTING))


@pytest.mark.parametrize(("exchange", "said"), [
    (_listing(401, {"error": {"message": "no"}}), "the key was refused"),
    (_listing(200, {"data": []}), "listed no models"),
    (_listing(200, None, fault="cannot connect: refused"), "unreachable"),
    (None, "unreachable: not sent"),
])
def test_nothing_to_probe_is_a_usage_problem(exchange, said):
    with pytest.raises(TargetUnreachable, match=said):
        models_from(_config(), exchange)


def test_a_faulted_listing_with_named_models_still_runs_them():
    models = models_from(_config(models=["m"]), _listing(200, None, fault="ReadError: reset"))
    assert [(m.id, m.claims) for m in models] == [("m", None)]
