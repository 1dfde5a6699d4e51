"""One formatter for a failed check, shared by the terminal, pytest and the reports: what broke,
where, by which rule, and the redacted exchange with a command to reproduce it."""

from __future__ import annotations

from typing import Any

from .results import CheckResult
from .safe_text import terminal

BODY_PREVIEW = 1200


def format_failure(result: CheckResult, exchange: dict[str, Any] | None) -> str:
    """The diagnosis, fit for a terminal: whatever the gateway sent is shown, never obeyed."""
    return terminal(_format_failure(result, exchange))


def _format_failure(result: CheckResult, exchange: dict[str, Any] | None) -> str:
    lines = [
        f"{result.check_id}: {result.title}",
        f"  case:     {result.case_id} ({result.operation}{', stream' if result.stream else ''})",
        f"  model:    {result.model or '-'}    auth: {result.auth}    severity: {result.severity}",
        f"  spec:     {result.spec}",
        f"  finding:  {result.message}",
    ]
    for v in result.violations[:8]:
        lines.append(f"    - {v.get('pointer') or '/'}: {v.get('message')} ({v.get('rule')}) [{v.get('spec')}]")
    if len(result.violations) > 8:
        lines.append(f"    ... {len(result.violations) - 8} more")
    if exchange:
        lines.append(f"  request:  {exchange['method']} {exchange['url']}")
        if exchange.get("request_body"):
            lines.append(f"            {exchange['request_body'][:400]}")
        if exchange.get("fault"):
            lines.append(f"  response: none ({exchange['fault']})")
        else:
            ctype = exchange.get("response_headers", {}).get("content-type", "none")
            lines.append(f"  response: HTTP {exchange['status']}  content-type: {ctype}  "
                         f"{exchange['body_bytes']} bytes")
            # what the gateway's support asks for; its absence is itself reported (http.request-id)
            lines.append(f"  request id: {exchange.get('request_id') or 'none sent'}")
            if str(ctype).startswith("text/html") and 200 <= (exchange.get("status") or 0) < 300:
                lines.append("  hint:     an HTML page with a 2xx status: this is the gateway's web page, not its "
                             "API; check the base URL (openai SDK: https://host/v1)")
            body = exchange.get("body", "")
            lines.extend("            " + line for line in body[:BODY_PREVIEW].splitlines()[:20])
        lines.append("  reproduce (put your key back where it says REDACTED):")
        lines.append("            " + curl(exchange).replace("\n", "\n            "))
    return "\n".join(lines)


def curl(exchange: dict[str, Any]) -> str:
    parts = [f"curl -sS -N -X {exchange['method']} '{exchange['url']}'"]
    for name, value in exchange.get("request_headers", {}).items():
        if name in ("content-length", "host", "accept-encoding", "connection", "user-agent", "accept"):
            continue
        parts.append(f"-H '{name}: {value}'")
    if exchange.get("request_body"):
        parts.append("-d '" + exchange["request_body"].replace("'", "'\\''") + "'")
    return " \\\n  ".join(parts)
