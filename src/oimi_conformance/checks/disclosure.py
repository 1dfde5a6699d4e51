"""Answers tell no more than they should: no stack trace, server file path or bug-report link in an error.

LiteLLM's proxy sends all three in its 500s (a Python traceback, /usr/lib/python3.x/site-packages paths,
and a prefilled "github.com/BerriAI/litellm/issues/new" link). They map the server for an attacker and leak
upstream request details; OWASP lists them as improper error handling. A security check: always an error.
"""

from __future__ import annotations

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


def disclosure_problems(status: int | None, body: bytes, content_type: str = "") -> list[str]:
    """What an answer discloses that it should not; empty when nothing. Streams are not judged."""
    if content_type == "text/event-stream" or not body:
        return []
    text = body[:MAX_BYTES].decode("utf-8", "replace")
    is_error = status is not None and status >= 400
    if not is_error and '"error"' not in text[:2048]:
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
    node_modules path, no prefilled GitHub "issues/new" link."""
    judged = False
    for name, exchange in ctx.exchanges.items():
        if exchange.status is None:
            continue
        judged = True
        problems = disclosure_problems(exchange.status, exchange.body, exchange.content_type)
        if problems:
            where = "" if name == ctx.step.name else f"step {name}: "
            ctx.fail(f"{where}HTTP {exchange.status} discloses server internals: {'; '.join(problems)}")
    if not judged:
        ctx.skip("no answer was received")
