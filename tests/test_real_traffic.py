"""Every response the official providers really sent must pass the validators: zero false rejections.

A failure here is a bug in ``specs/``, not in the provider.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from oimi_conformance import judge

from .real_traffic import exchanges, kind_for, load

FILES = exchanges()


@pytest.mark.parametrize("path", FILES, ids=[p.stem[:90] for p in FILES])
def test_real_exchange_conforms(path):
    exchange = load(path)
    kind = kind_for(exchange)
    if kind.startswith("skip:"):
        pytest.skip(kind[5:].strip())
    request = exchange["request_body"] if isinstance(exchange["request_body"], dict) else None
    verdict = judge(kind, exchange["response_body"], request)
    assert verdict.ok, f"{path.name} rejected as {kind}:\n" + "\n".join(f"  {v}" for v in verdict.violations)


def test_most_real_traffic_is_judged():
    """Guard against a mapping that silently skips the corpus: most exchanges must have a kind."""
    assert FILES, "../shared/real-traffic is missing beside this checkout"
    kinds = Counter(kind_for(load(p)) for p in FILES)
    judged = sum(n for k, n in kinds.items() if not k.startswith("skip:"))
    assert judged >= 0.85 * len(FILES), kinds
    for required in ("openai.chat.completion.stream", "openai.responses.stream", "anthropic.messages.stream",
                     "gemini.stream.json_array", "gemini.generate_content", "error.openai", "error.anthropic"):
        assert kinds[required] > 0, required


# -- a cut answer never claims a natural stop: the rule of the max-tokens checks, on real models ------------

NATURAL_STOPS = {"stop", "end_turn", "completed", "STOP"}


def _limit_use_and_stops(exchange: dict) -> tuple[int | None, int | None, set[str]]:
    request = exchange["request_body"] if isinstance(exchange["request_body"], dict) else {}
    limit = request.get("max_tokens") or request.get("max_completion_tokens") or request.get("max_output_tokens") \
        or (request.get("generationConfig") or {}).get("maxOutputTokens")
    try:
        body = json.loads(exchange["response_body"])
    except (TypeError, ValueError):
        return limit, None, set()
    if not isinstance(body, dict):
        return limit, None, set()
    usage = body.get("usage") or body.get("usageMetadata") or {}
    used = usage.get("completion_tokens") or usage.get("output_tokens") or usage.get("candidatesTokenCount")
    stops = {c.get("finish_reason") for c in body.get("choices") or []} | {
        c.get("finishReason") for c in body.get("candidates") or []} | {body.get("stop_reason"), body.get("status")}
    return limit, used, {s for s in stops if isinstance(s, str)}


def test_no_real_answer_that_fills_its_limit_claims_a_natural_stop(real_traffic):
    """chat/responses/messages/gemini max-tokens checks fail an answer that fills max_tokens exactly and claims a
    natural stop; real models never did so in the recorded corpus, while they did fill limits and say so."""
    filled = []
    for path in FILES:
        exchange = load(path)
        if exchange["status"] != 200:
            continue
        limit, used, stops = _limit_use_and_stops(exchange)
        if isinstance(limit, int) and isinstance(used, int) and used >= limit:
            filled.append((path.name, stops))
    assert filled, "the corpus holds no answer that filled its limit: nothing proves the rule sound"
    assert [(name, stops) for name, stops in filled if stops & NATURAL_STOPS] == []
