"""Rerank (Jina / Cohere shape): results sorted best first, valid unique indices, top_n and
return_documents honoured."""

from __future__ import annotations

from typing import Any

from .common import is_number
from .registry import CheckContext, all_of, check, has_tag, main_kind

SPEC = "https://jina.ai/reranker/; https://docs.cohere.com/reference/rerank"
RERANK = main_kind("rerank")


def _results(ctx: CheckContext) -> list[dict[str, Any]]:
    body = ctx.require_json()
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        ctx.skip("no results list to judge; see body.schema")
    return [r for r in results if isinstance(r, dict)]


def _documents(ctx: CheckContext) -> list[Any]:
    documents = (ctx.request or {}).get("documents")
    if not isinstance(documents, list):
        ctx.skip("the request has no documents list")
    return documents


def _doc_text(document: Any) -> Any:
    """A document as text: a string, or the `text` of an object {text} (Jina, Cohere v1)."""
    return document.get("text") if isinstance(document, dict) else document


@check("rerank.sorted", "Results are sorted by relevance_score, best first", spec=SPEC, applies=RERANK)
def sorted_by_score(ctx: CheckContext) -> None:
    """Clients take the first results as the best ones: relevance_score never increases down the list."""
    given = [r.get("relevance_score") for r in _results(ctx)]
    scores = [s for s in given if is_number(s)]
    if len(scores) != len(given):
        ctx.skip("some relevance_score is not a number; see body.schema")
    for i in range(1, len(scores)):
        if scores[i] > scores[i - 1]:
            ctx.fail(f"results[{i}].relevance_score {scores[i]} is higher than results[{i - 1}]'s {scores[i - 1]}; "
                     f"expected scores in non-increasing order, saw {scores}")


@check("rerank.indices-valid", "Each result's index names a distinct input document", spec=SPEC, applies=RERANK)
def indices_valid(ctx: CheckContext) -> None:
    """index is the document's position in the request (0-based), within range, and no document twice."""
    count = len(_documents(ctx))
    seen: dict[Any, int] = {}
    for i, result in enumerate(_results(ctx)):
        index = result.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
            ctx.fail(f"results[{i}].index is {index!r}; expected an integer from 0 to {count - 1} "
                     f"({count} documents sent)")
        if index in seen:
            ctx.fail(f"results[{seen[index]}] and results[{i}] both name document {index}; expected each "
                     "document at most once")
        seen[index] = i


@check("rerank.top-n-honoured", "Exactly min(top_n, len(documents)) results (every document without top_n)",
       spec=SPEC, applies=RERANK)
def top_n_honoured(ctx: CheckContext) -> None:
    """top_n caps the results; without it Jina and Cohere rank and return every document."""
    count = len(_documents(ctx))
    top_n = (ctx.request or {}).get("top_n")
    wanted = min(top_n, count) if isinstance(top_n, int) else count
    got = len(_results(ctx))
    if got != wanted:
        asked = f"top_n {top_n} with {count} documents" if isinstance(top_n, int) else f"{count} documents, no top_n"
        ctx.fail(f"{asked}: expected {wanted} result(s), got {got}")


@check("rerank.documents-returned", "return_documents true returns each result's document text",
       spec=SPEC, applies=all_of(RERANK, has_tag("return_documents")))
def documents_returned(ctx: CheckContext) -> None:
    """With return_documents each result carries its document (a string or {text}) equal to the input
    document at its index."""
    documents = _documents(ctx)
    if not (ctx.request or {}).get("return_documents"):
        ctx.skip("the request does not set return_documents")
    for i, result in enumerate(_results(ctx)):
        if result.get("document") is None:
            ctx.fail(f"results[{i}] has no document although return_documents is true")
        index = result.get("index")
        if not isinstance(index, int) or not 0 <= index < len(documents):
            ctx.skip(f"results[{i}].index {index!r} is out of range; see rerank.indices-valid")
        got, want = _doc_text(result["document"]), _doc_text(documents[index])
        if got != want:
            ctx.fail(f"results[{i}] (index {index}) returns document {got!r}; the input document {index} is {want!r}")
