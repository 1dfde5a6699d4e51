"""POST /v1/embeddings, /v1/rerank, /v1/images/generations, and the image files the sandbox serves.

Embeddings and images follow OpenAI's shapes (``encoding_format`` float/base64, ``response_format``
url/b64_json); rerank follows the Jina/Cohere shape new-api relays (``results`` with ``index`` and
``relevance_score``, sorted best first).
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from . import faults, oracle
from .access import select_model
from .context import RequestContext
from .error_bodies import REQUEST_ID_HEADER, SandboxError
from .validation import Fields

DEFAULT_DIMENSIONS = 16
MAX_DIMENSIONS = 64
_IMAGE_NAME = re.compile(r"img-([0-9a-f]{6})-(\d+)")


def _json(ctx: RequestContext, answer: dict[str, Any]) -> Response:
    return JSONResponse(faults.apply("body", ctx, answer), headers={REQUEST_ID_HEADER: ctx.request_id})


def _embedding_inputs(f: Fields) -> list[str]:
    f.require("input")
    raw = f.raw("input")
    if isinstance(raw, str):
        raw = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(t, int) and not isinstance(t, bool) for t in raw):
        raw = [raw]  # one input given as token ids
    if not isinstance(raw, list) or not raw:
        f.fail("input must be a non-empty string, array of strings or array of token arrays", "input")
        return ["" if raw is None else str(raw)]
    texts = []
    for i, item in enumerate(raw):
        if isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            texts.append(" ".join(str(t) for t in item))
        elif isinstance(item, str) and item:
            texts.append(item)
        else:
            f.fail(f"input[{i}] must be a non-empty string or array of token ids", f"input[{i}]")
            texts.append(str(item))
    return texts


async def embeddings(ctx: RequestContext, body: dict[str, Any]) -> Response:
    f = Fields(ctx, body)
    model = select_model(ctx, f.raw("model"), "embeddings")
    texts = _embedding_inputs(f)
    encoding = f.string("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        f.fail("encoding_format must be float or base64", "encoding_format")
        encoding = "float"
    dimensions = f.integer("dimensions", minimum=1, maximum=MAX_DIMENSIONS) or DEFAULT_DIMENSIONS
    data = []
    for index, text in enumerate(texts):
        vector = oracle.embedding(text, dimensions)
        value: Any = oracle.float32_base64(vector) if encoding == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(oracle.count_tokens(t) for t in texts)
    return _json(
        ctx,
        {"object": "list", "data": data, "model": model.id, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}},
    )


async def rerank(ctx: RequestContext, body: dict[str, Any]) -> Response:
    f = Fields(ctx, body)
    model = select_model(ctx, f.raw("model"), "rerank")
    query = f.string("query", required=True) or ""
    documents = []
    for i, doc in enumerate(f.array("documents", required=True, non_empty=True)):
        text = doc.get("text") if isinstance(doc, dict) else doc
        if not isinstance(text, str):
            f.fail(f"documents[{i}] must be a string or {{text: string}}", f"documents[{i}]")
            text = str(text)
        documents.append(text)
    top_n = f.integer("top_n", minimum=1)
    return_documents = f.boolean("return_documents", default=False)
    scored = sorted(((oracle.relevance(query, d), i) for i, d in enumerate(documents)), key=lambda s: (-s[0], s[1]))
    results = []
    for score, index in scored[:top_n]:
        result: dict[str, Any] = {"index": index, "relevance_score": score}
        if return_documents:
            result["document"] = {"text": documents[index]}
        results.append(result)
    tokens = oracle.count_tokens(query) + sum(oracle.count_tokens(d) for d in documents)
    answer: dict[str, Any] = {"id": ctx.make_id("rerank-"), "model": model.id, "results": results}
    answer["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return _json(ctx, answer)


async def images(ctx: RequestContext, body: dict[str, Any]) -> Response:
    f = Fields(ctx, body)
    select_model(ctx, f.raw("model"), "images")
    # the provider's rule: new-api does not validate the prompt (relay/helper/valid_request.go,
    # GetAndValidOpenAIImageRequest), so the upstream's 400 passes through
    prompt = f.raw("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        f.fail("prompt must not be empty", "prompt", upstream=True)
        prompt = ""
    count = f.integer("n", minimum=1, maximum=4) or 1
    fmt = f.string("response_format") or "url"
    if fmt not in ("url", "b64_json"):
        f.fail("response_format must be url or b64_json", "response_format")
        fmt = "url"
    size = f.string("size")
    if size is not None and size != "auto" and not re.fullmatch(r"\d{2,4}x\d{2,4}", size):
        f.fail("size must be auto or WIDTHxHEIGHT", "size")
    data = []
    for index in range(count):
        rgb = oracle.colour(prompt, index)
        item: dict[str, Any] = {"revised_prompt": prompt}
        if fmt == "b64_json":
            item["b64_json"] = base64.b64encode(oracle.png(rgb)).decode("ascii")
        else:
            item["url"] = f"http://127.0.0.1:{ctx.port}/sandbox-files/img-{bytes(rgb).hex()}-{index}.png"
        data.append(item)
    return _json(ctx, {"created": int(time.time()), "data": data})


async def image_file(ctx: RequestContext, name: str) -> Response:
    """GET /sandbox-files/<name>.png: the image a url answer points at (rebuilt from its name)."""
    match = _IMAGE_NAME.fullmatch(name)
    if match is None:
        raise SandboxError(404, f"no such sandbox file: {name}.png", kind="route", error_type="invalid_request_error")
    rgb = bytes.fromhex(match.group(1))
    return Response(
        oracle.png((rgb[0], rgb[1], rgb[2])), media_type="image/png", headers={REQUEST_ID_HEADER: ctx.request_id}
    )
