"""Every response the official providers really sent must pass the validators: zero false rejections.

A failure here is a bug in ``specs/``, not in the provider.
"""

from __future__ import annotations

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
