"""Embeddings: one vector per input in input order, consistent dimensions, the base64 encoding, usage."""

from __future__ import annotations

import base64
import binascii
import math
import struct
from typing import Any

from .common import is_count
from .registry import CheckContext, all_of, check, has_tag, main_kind

SPEC = "https://platform.openai.com/docs/api-reference/embeddings"
EMBEDDINGS = main_kind("openai.embeddings")
# float32 bytes against a second request's float answer: float32 keeps ~7 digits, and a real upstream
# may recompute the vector with GPU non-determinism, so compare loosely; a float list returned for
# encoding_format=base64, or bytes of another vector, still fails by far
REL_TOL = 1e-3
ABS_TOL = 1e-4


def _data(ctx: CheckContext, step: str | None = None) -> list[dict[str, Any]]:
    body = ctx.require_json(step)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        ctx.skip("no data list to judge; see body.schema")
    return [d for d in data if isinstance(d, dict)]


def _input_count(request: Any) -> int | None:
    """How many inputs a request carries: a string or one token array is one input; a list of strings or of
    token arrays is one input per element."""
    value = (request or {}).get("input")
    if isinstance(value, str):
        return 1
    if isinstance(value, list) and value:
        if all(isinstance(t, int) and not isinstance(t, bool) for t in value):
            return 1
        return len(value)
    return None


def _decode(value: str) -> list[float]:
    """An OpenAI base64 embedding: the vector's float32 values, little-endian, base64-encoded."""
    raw = base64.b64decode(value, validate=True)
    if len(raw) % 4:
        raise ValueError(f"decodes to {len(raw)} bytes, not a multiple of 4 (float32)")
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _vector(ctx: CheckContext, item: dict[str, Any], where: str) -> list[float]:
    value = item.get("embedding")
    if isinstance(value, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        return [float(x) for x in value]
    if isinstance(value, str):
        try:
            return _decode(value)
        except (binascii.Error, ValueError) as exc:
            ctx.fail(f"{where}: the base64 embedding does not decode to float32 values: {exc}")
    ctx.fail(f"{where}: embedding is {type(value).__name__}, not a list of numbers or a base64 string")


@check("embeddings.one-per-input", "One embedding per input", spec=f"{SPEC}/create#embeddings-create-input",
       applies=EMBEDDINGS)
def one_per_input(ctx: CheckContext) -> None:
    """A string (or one token array) gives one vector; a list gives one vector per element."""
    wanted = _input_count(ctx.request)
    if wanted is None:
        ctx.skip("the request's input is not a string or a list")
    data = _data(ctx)
    if len(data) != wanted:
        ctx.fail(f"{wanted} input(s) sent but {len(data)} embedding(s) returned")


@check("embeddings.index-order", "data[i].index = i: vectors in input order, indexed from 0",
       spec=f"{SPEC}/object", applies=EMBEDDINGS)
def index_order(ctx: CheckContext) -> None:
    """Clients zip the vectors with their inputs by position or by index; both must agree, from 0."""
    indices = [d.get("index") for d in _data(ctx)]
    if indices != list(range(len(indices))):
        ctx.fail(f"data indices are {indices[:12]}; expected {list(range(len(indices)))[:12]} (input order, "
                 "from 0)")


@check("embeddings.consistent-dimensions", "Every vector has the same length, and the requested dimensions",
       spec=f"{SPEC}/create#embeddings-create-dimensions", applies=EMBEDDINGS)
def consistent_dimensions(ctx: CheckContext) -> None:
    """One model gives vectors of one length; with `dimensions` that length is the one asked for. Every step
    of the case is judged (both encodings of the base64 case)."""
    for step in ctx.case.steps:
        if step.expect.kind != "openai.embeddings":
            continue
        where = "" if step is ctx.case.steps[0] else f"step {step.name}: "
        data = _data(ctx, step.name)
        lengths = [len(_vector(ctx, d, f"{where}data[{i}]")) for i, d in enumerate(data)]
        if not lengths:
            ctx.fail(f"{where}no embeddings returned")
        if 0 in lengths or len(set(lengths)) > 1:
            ctx.fail(f"{where}vector lengths differ or are empty: {lengths}")
        wanted = (ctx.exchange_of(step.name).request_json or {}).get("dimensions")
        if isinstance(wanted, int) and lengths[0] != wanted:
            ctx.fail(f"{where}dimensions {wanted} requested but the vectors have {lengths[0]} numbers")


@check("embeddings.base64-decodes", "encoding_format base64 answers little-endian float32 bytes equal to the "
       "float answer", spec=f"{SPEC}/create#embeddings-create-encoding_format",
       applies=all_of(EMBEDDINGS, has_tag("base64")))
def base64_decodes(ctx: CheckContext) -> None:
    """Each embedding of the base64 answer is a base64 string of n*4 bytes, n float32 values (little-endian, as
    openai-python decodes them with numpy.frombuffer(dtype="float32")) equal to the float answer within
    {tolerance}. A list of floats there means the gateway ignored encoding_format (reported by new-api
    users); the SDK, which asks for base64 by default, then hands the raw list back unparsed or breaks."""
    floats = _data(ctx)
    encoded = _data(ctx, "base64")
    if len(encoded) != len(floats):
        ctx.fail(f"the float answer has {len(floats)} embedding(s), the base64 answer {len(encoded)}")
    for i, (plain, packed) in enumerate(zip(floats, encoded, strict=True)):
        value = packed.get("embedding")
        if not isinstance(value, str):
            ctx.fail(f"data[{i}]: encoding_format base64 but the embedding is a {type(value).__name__}"
                     f"{' of numbers' if isinstance(value, list) else ''}; expected a base64 string "
                     "(encoding_format ignored)")
        try:
            decoded = _decode(value)
        except (binascii.Error, ValueError) as exc:
            ctx.fail(f"data[{i}]: the base64 embedding is not base64 of float32 values: {exc}")
        expected = _vector(ctx, plain, f"data[{i}] (float answer)")
        if len(decoded) != len(expected):
            ctx.fail(f"data[{i}]: base64 decodes to {len(decoded)} float32 values ({len(decoded) * 4} bytes) but "
                     f"the float answer has {len(expected)} numbers")
        for j, (got, want) in enumerate(zip(decoded, expected, strict=True)):
            if not math.isclose(got, want, rel_tol=REL_TOL, abs_tol=ABS_TOL):
                ctx.fail(f"data[{i}][{j}]: base64 decodes (little-endian float32) to {got!r}, the float answer is "
                         f"{want!r} (relative tolerance {REL_TOL:g})")


# the documented tolerance is the one the code uses (docs/checks.md is generated from this docstring)
base64_decodes.__doc__ = (base64_decodes.__doc__ or "").replace(
    "{tolerance}", f"a relative {REL_TOL:g} (an absolute {ABS_TOL:g} near zero)")


@check("embeddings.usage", "usage.prompt_tokens and usage.total_tokens are integers",
       spec=f"{SPEC}/object", applies=EMBEDDINGS)
def usage(ctx: CheckContext) -> None:
    """Billing reads these; an embedding request has no output tokens, so total_tokens >= prompt_tokens."""
    body = ctx.require_json()
    counts = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(counts, dict):
        ctx.fail("the answer has no usage object")
    p, t = counts.get("prompt_tokens"), counts.get("total_tokens")
    if not (is_count(p) and is_count(t) and p >= 0 and t >= 0):
        ctx.fail(f"usage.prompt_tokens {p!r} and usage.total_tokens {t!r} must be non-negative integers")
    if t < p:
        ctx.fail(f"usage.total_tokens {t} is less than prompt_tokens {p}")
