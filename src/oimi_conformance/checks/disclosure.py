"""Answers tell no more than they should: no stack trace, server file path or bug-report link in an error.

LiteLLM's proxy sends all three in its 500s (a Python traceback, /usr/lib/python3.x/site-packages paths,
and a prefilled "github.com/BerriAI/litellm/issues/new" link). They map the server for an attacker and leak
upstream request details; OWASP lists them as improper error handling. A security check: always an error.
"""

from __future__ import annotations

import json
import re

from .registry import CheckContext, check, every_case

SPEC = ("https://owasp.org/www-community/Improper_Error_Handling; "
        "https://cwe.mitre.org/data/definitions/209.html")

_SOURCE_EXT = r"(?:py|pyc|go|js|mjs|ts|java|kt|rb|rs|php|cs|cpp|c|scala|ex)"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Python traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("a Python stack frame", re.compile(r'File \\?"[^"\\]+\\?", line \d+')),
    ("a Go panic", re.compile(r"goroutine \d+ \[[a-z ]+\]:|panic: runtime error")),
    ("a Java/Kotlin stack frame", re.compile(r"\bat [\w$]+(?:\.[\w$<>]+){2,}\([\w$]+\.(?:java|kt|scala):\d+\)")),
    ("a JavaScript stack frame", re.compile(r"\bat (?:[\w$.<> ]+ )?\(?(?:/|[A-Za-z]:\\)[^\s()]+\.[cm]?[jt]s:\d+:\d+")),
    ("a server file path", re.compile(
        r"(?<![\w:/.-])(?:/(?:usr|home|app|opt|var|srv|root|tmp|src|workspace|build|go|Users)/[\w.@+-]+(?:/[\w.@+-]+)*"
        r"|[A-Za-z]:(?:\\{1,2}[\w .@+-]+)+)\." + _SOURCE_EXT + r"\b")),  # JSON escapes each backslash
    ("a site-packages / node_modules path", re.compile(r"(?:site-packages|dist-packages|node_modules)[/\\][\w.-]+")),
    ("a prefilled bug-report link", re.compile(r"github\.com/[\w.-]+/[\w.-]+/issues/new", re.I)),
)
# What is judged: an error answer's body, or a 2xx body that is an error object in disguise.
MAX_BYTES = 64 * 1024


def judged_text(status: int | None, body: bytes, content_type: str = "") -> str | None:
    """The text of an answer this check judges: an error answer's body, or a 2xx body carrying an
    "error"; None for streams, success bodies, and bodies with nothing in them (empty, ``{}``)."""
    if content_type == "text/event-stream" or status is None:
        return None
    text = body[:MAX_BYTES].decode("utf-8", "replace")
    if text.strip() in ("", "{}", "[]", "null", '""'):
        return None  # no content: nothing it could disclose, so no evidence it discloses nothing
    if status >= 400 or carries_error(text):
        return text
    return None


def carries_error(text: str) -> bool:
    """A 2xx body that is an error in disguise: a JSON object with a non-empty "error" (Responses objects
    carry ``"error": null`` in every success), or a non-JSON body that names one."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return '"error"' in text[:2048]
    return isinstance(value, dict) and bool(value.get("error"))


def disclosure_problems(status: int | None, body: bytes, content_type: str = "") -> list[str]:
    """What an answer discloses that it should not; empty when nothing or when it is not judged."""
    text = judged_text(status, body, content_type)
    if text is None:
        return []
    found = []
    for what, pattern in PATTERNS:
        match = pattern.search(text)
        if match:
            found.append(f"{what}: {match.group(0)[:100]!r}")
    return found


@check("disclosure.no-internals", "An error body carries no stack trace, server file path or bug-report link",
       spec=SPEC, applies=every_case)
def no_internals(ctx: CheckContext) -> None:
    """Every step's error answer (and any 2xx body carrying an "error"), HTML pages included: no Python,
    Go, Java or JavaScript stack trace, no absolute path of a source file on the server, no site-packages or
    node_modules path, no prefilled GitHub "issues/new" link. Any step's error body can fail it; it passes
    only when the case's own (first) answer is an error with a body, and is skipped otherwise: a success, or
    an empty error body, shows nothing either way."""
    judged = []
    for name, exchange in ctx.exchanges.items():
        if judged_text(exchange.status, exchange.body, exchange.content_type) is None:
            continue
        judged.append(name)
        problems = disclosure_problems(exchange.status, exchange.body, exchange.content_type)
        if problems:
            where = "" if name == ctx.step.name else f"step {name}: "
            ctx.fail(f"{where}HTTP {exchange.status} discloses server internals: {'; '.join(problems)}")
    # any step's error can fail the case; a pass speaks for the case's own answer, so it needs that one
    if ctx.step.name not in judged:
        others = f" (clean error bodies in step {', '.join(judged)})" if judged else ""
        ctx.skip(f"the answer is no error with a body to judge (a success, or an empty error body){others}")
