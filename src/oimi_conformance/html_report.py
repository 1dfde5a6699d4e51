"""``report.html``: one self-contained page of a run, for a person with a browser.

The summary, the capability matrix (coloured, filterable by model, endpoint and verdict), every result
(filterable by outcome, endpoint, model and check), and every failed or errored check with its
diagnosis, the redacted request and response, and a ``curl`` command that reproduces it.

The page loads nothing: inline CSS and a little inline JavaScript (package data:
``report_assets/report.css`` and ``report.js``), no URL anywhere in markup, and a Content-Security-Policy
that forbids every fetch (``default-src 'none'``) and runs only the page's own script and style (by hash).
Everything that came from the gateway is HTML-escaped text: a response body is hostile input. The data
reaches the script only through escaped ``data-*`` attributes, never inside a ``<script>`` element. Filters
can be preselected by the URL fragment, e.g. ``report.html#outcome=failed&model=gpt-4o-mini`` (keys: model,
endpoint, verdict, outcome, check).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import time
from collections import Counter, defaultdict
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from .capabilities import VERDICTS, CellVerdict
from .diagnosis import curl, format_failure
from .endpoints import endpoint_order, family_title_of_endpoint
from .results import BAD, OUTCOMES, CheckResult, Outcome

REPORT_NAME = "report.html"
VERDICT_MARK = {CellVerdict.SUPPORTED: "\u2713", CellVerdict.UNSUPPORTED: "\u2013", CellVerdict.BROKEN: "\u2717",
                CellVerdict.NOT_PROBED: "\u00b7"}
OUTCOME_ORDER = {Outcome.FAILED: 0, Outcome.ERROR: 1, Outcome.XFAILED: 2, Outcome.SKIPPED: 3, Outcome.PASSED: 4}
BODY_LIMIT = 8000  # characters of a body shown (exchanges.json already keeps a preview only)
MESSAGE_LIMIT = 220  # characters of a message in the results table (the full text is in its tooltip)


def _asset(name: str) -> str:
    """A file of the page kept as package data (``report_assets/``): its text goes into the page as is, and the
    Content-Security-Policy hashes exactly that text, so the files' first newline is part of it."""
    return files(__package__).joinpath("report_assets", name).read_text(encoding="utf-8")


CSS = _asset("report.css")
SCRIPT = _asset("report.js")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# The page's own style and script run by hash; 'unsafe-inline' is only for browsers without CSP 2 (a
# browser that knows hashes ignores it), so an injected <script> or <style> would not run either.
CSP = (f"default-src 'none'; style-src 'unsafe-inline' {_csp_hash(CSS)}; script-src 'unsafe-inline' "
       f"{_csp_hash(SCRIPT)}; img-src data:; base-uri 'none'; form-action 'none'")


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _slug(value: str) -> str:
    return value.replace(" ", "-")


def _when(ts: Any) -> str:
    if not isinstance(ts, (int, float)):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _pretty(text: str) -> str:
    """A JSON body indented; anything else as it came."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError, TypeError):
        return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def _family(endpoint: str) -> str:
    return family_title_of_endpoint().get(endpoint, "OpenAI-compatible")


def _result(row: dict[str, Any]) -> CheckResult:
    names = {f.name for f in dataclasses.fields(CheckResult)}
    return CheckResult(**{k: v for k, v in row.items() if k in names})


def render_page(results: dict[str, Any], exchanges: dict[str, Any], matrix: dict[str, Any]) -> str:
    """The whole page, from a ``results.json`` document, its ``exchanges.json`` and its matrix
    (``matrix.build_matrix(results)``)."""
    meta = results.get("meta", {})
    rows = sorted(results.get("results", []), key=lambda r: (OUTCOME_ORDER.get(r["outcome"], 9),
                                                           _endpoint_rank(r["endpoint"]), r["check_id"],
                                                           r["case_id"], r.get("model") or ""))
    counts = Counter(r["outcome"] for r in rows)
    bad = [r for r in rows if r["outcome"] in BAD]
    anchors = {id(r): f"f{i}" for i, r in enumerate(bad)}
    models = sorted(set(matrix.get("models", [])) | {r["model"] for r in rows if r.get("model")})
    endpoints = sorted({r["endpoint"] for r in rows}, key=_endpoint_rank)
    target = meta.get("target") or "target"
    title = f"oimi-conformance: {target}: " + (f"{len(bad)} failed" if bad else "no failure")
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(CSP)}\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<meta name=\"referrer\" content=\"no-referrer\">",
        "<link rel=\"icon\" href=\"data:,\">",
        f"<title>{_e(title)}</title><style>{CSS}</style></head>",
        "<body data-ready=\"0\"><main>",
        _header(meta, counts, bad, matrix),
        _filters(models, endpoints),
        _matrix(matrix, rows),
        _failures(bad, exchanges, anchors),
        _results(rows, anchors),
        f"<footer>oimi-conformance {_e(meta.get('harness_version', ''))}: results.json version "
        f"{_e(results.get('version', ''))}. This page is self-contained: it loads nothing and sends nothing. "
        "Keys are redacted (REDACTED) in every request shown. How to read it: docs/INTERPRETING.md.</footer>",
        f"</main><script>{SCRIPT}</script></body></html>\n",
    ]
    return "\n".join(parts)


def _endpoint_rank(endpoint: str) -> tuple[int, str]:
    order = endpoint_order()  # specs/endpoints.yaml's order; an unknown endpoint last
    return (order.index(endpoint) if endpoint in order else len(order), endpoint)


def _header(meta: dict[str, Any], counts: Counter[str], bad: list[dict[str, Any]], matrix: dict[str, Any]) -> str:
    tokens = meta.get("tokens") or {}
    started, finished = meta.get("started"), meta.get("finished")
    duration = f"{finished - started:.1f} s" if isinstance(started, (int, float)) and isinstance(
        finished, (int, float)) else "-"
    mode = "replay of recorded cassettes" if meta.get("replay") else "live"
    facts = [("target", meta.get("target")), ("base URL", meta.get("base_url")), ("profile", meta.get("profile")),
             ("expectations", Path(meta["expectations"]).name if meta.get("expectations") else "none"),
             ("started", _when(started)), ("duration", duration), ("mode", mode),
             ("requests sent", meta.get("requests", "-")), ("exchanges", meta.get("exchanges", "-")),
             ("tokens", f"{tokens.get('input', 0)} in, {tokens.get('output', 0)} out"),
             ("concurrency", meta.get("concurrency", "-")),
             ("budget", meta.get("max_requests") or "none")]
    errors = counts.get(Outcome.ERROR, 0)
    failed = counts.get(Outcome.FAILED, 0)
    if bad:
        banner = (f"<div class=\"banner fail\">FAILED: {failed} check result(s) failed, {errors} errored "
                  f"(of {sum(counts.values())})</div>")
    else:
        banner = (f"<div class=\"banner pass\">PASSED: no check failed or errored "
                  f"({sum(counts.values())} results)</div>")
    chips = "".join(f"<button class=\"chip o-{o}\" data-outcome=\"{o}\" title=\"show only {o}\">{o}"
                    f"<span class=\"n\">{counts.get(o, 0)}</span></button>" for o in OUTCOMES)
    verdicts = matrix.get("counts", {})
    vline = ", ".join(f"{VERDICT_MARK[v]} {v} {verdicts.get(v, 0)}" for v in VERDICTS)
    return ("<header><h1>oimi-conformance report</h1>" + banner
            + "<div class=\"meta\">" + "".join(f"<div><b>{_e(k)}</b> {_e(v)}</div>" for k, v in facts) + "</div>"
            + f"<div class=\"chips\">{chips}</div>"
            + f"<div class=\"legend\">capabilities (model \u00d7 capability): {_e(vline)}</div></header>")


def _filters(models: list[str], endpoints: list[str]) -> str:
    def select(key: str, label: str, values: list[str]) -> str:
        options = "<option value=\"\">all</option>" + "".join(
            f"<option value=\"{_e(v)}\">{_e(v)}</option>" for v in values)
        return f"<label>{label}<select id=\"filter-{key}\">{options}</select></label>"

    return ("<nav class=\"filters\" aria-label=\"filters\">"
            + select("model", "model", models) + select("endpoint", "endpoint", endpoints)
            + select("verdict", "verdict", list(VERDICTS)) + select("outcome", "outcome", list(OUTCOMES))
            + "<label>check<input id=\"filter-check\" type=\"search\" placeholder=\"check or case id, * glob\" "
              "size=\"24\"></label>"
            + "<button id=\"filter-reset\" type=\"button\">reset</button>"
            + "<a href=\"#matrix-section\">matrix</a><a href=\"#failures\">failures</a><a href=\"#results\">results</a>"
            + "<span class=\"count\" id=\"count\"></span></nav>")


def _matrix(matrix: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    capabilities = matrix.get("capabilities", [])
    endpoints_of: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        endpoints_of[r["capability"]].add(r["endpoint"])
    groups: dict[str, list[str]] = defaultdict(list)
    for capability in capabilities:
        groups[capability.split(".", 1)[0]].append(capability)
    order = sorted(groups, key=_endpoint_rank)
    columns = [c for g in order for c in groups[g]]

    def endpoints(capability: str) -> str:
        return " ".join(sorted(endpoints_of.get(capability) or {capability.split(".", 1)[0]}, key=_endpoint_rank))

    head1 = "<tr><th class=\"model\" rowspan=\"2\">model</th>" + "".join(
        f"<th class=\"group\" data-group=\"{_e(g)}\" colspan=\"{len(groups[g])}\" title=\"{_e(_family(g))}\">"
        f"{_e(g)}</th>" for g in order) + "</tr>"
    head2 = "<tr>" + "".join(
        f"<th class=\"sub\" data-group=\"{_e(c.split('.', 1)[0])}\" data-endpoints=\"{_e(endpoints(c))}\" "
        f"title=\"{_e(c)}\">{_e(c.split('.', 1)[1] if '.' in c else 'base')}</th>" for c in columns) + "</tr>"
    disagreeing = {(d.get("model"), d.get("capability")) for d in matrix.get("disagreements", [])}
    body = []
    for i, model in enumerate(matrix.get("models", [])):
        cells = matrix.get("cells", {}).get(model, {})
        tds = []
        for c in columns:
            cell = cells.get(c) or {"verdict": CellVerdict.NOT_PROBED}
            verdict = cell.get("verdict", CellVerdict.NOT_PROBED)
            claimed = cell.get("claimed")
            tip = [f"{model} · {c}: {verdict}"]
            if cell.get("failing"):
                tip.append("failing: " + ", ".join(cell["failing"]))
            if cell.get("reason"):
                tip.append(str(cell["reason"]))
            tip.append("claimed by the gateway: " + {True: "yes", False: "no", None: "no claim"}.get(claimed, "?"))
            if cell.get("cases"):
                tip.append(f"{len(cell['cases'])} case(s): " + ", ".join(cell["cases"][:12])
                           + (" ..." if len(cell["cases"]) > 12 else ""))
            disagrees = (model, c) in disagreeing
            tds.append(f"<td class=\"cell v-{_slug(verdict)}{' disagrees' if disagrees else ''}\" "
                       f"data-verdict=\"{_e(verdict)}\" data-endpoints=\"{_e(endpoints(c))}\" "
                       f"title=\"{_e(chr(10).join(tip))}\">{VERDICT_MARK.get(verdict, '?')}</td>")
        body.append(f"<tr id=\"mrow{i}\" data-model=\"{_e(model)}\"><th class=\"model\">{_e(model)}</th>"
                    + "".join(tds) + "</tr>")
    legend = "".join(f"<span><span class=\"sw v-{_slug(v)}\"></span>{VERDICT_MARK[v]} {v}</span>" for v in VERDICTS)
    legend += "<span>! the gateway's claim (supported_endpoint_types) disagrees</span>"
    legend += "<span>hover a cell for its failing checks; click it to filter the results</span>"
    disagreements = matrix.get("disagreements", [])
    dis = ""
    if disagreements:
        dis = ("<details><summary>" + f"{len(disagreements)} claim(s) disagree with the probes</summary>"
               "<ul class=\"disagree\">" + "".join(
                   f"<li><b>{_e(d.get('model'))}</b> {_e(d.get('capability'))}: {_e(d.get('note'))}</li>"
                   for d in disagreements) + "</ul></details>")
    return ("<section id=\"matrix-section\"><h2>Capability matrix</h2>"
            f"<div class=\"legend\">{legend}</div><div class=\"matrix-wrap\"><table class=\"matrix\" id=\"matrix\">"
            f"<thead>{head1}{head2}</thead><tbody>{''.join(body)}</tbody></table></div>"
            "<div class=\"none\" id=\"matrix-none\" hidden>no model matches the filters</div>"
            f"{dis}</section>")


def _failures(bad: list[dict[str, Any]], exchanges: dict[str, Any], anchors: dict[int, str]) -> str:
    if not bad:
        return ("<section id=\"failures\"><h2>Failed and errored checks</h2><p class=\"none\">none: every judged "
                "check passed, was a known deviation, or was skipped.</p></section>")
    items = [_failure(r, exchanges.get(r.get("exchange") or ""), anchors[id(r)]) for r in bad]
    by_check = Counter(r["check_id"] for r in bad)
    chips = "".join(f"<button class=\"chip\" data-check=\"{_e(c)}\" title=\"show only {_e(c)}\">{_e(c)}"
                    f"<span class=\"n o-failed\">{n}</span></button>" for c, n in by_check.most_common())
    return (f"<section id=\"failures\"><h2>Failed and errored checks ({len(bad)})</h2>"
            f"<div class=\"chips\">{chips}<button id=\"toggle-all\" type=\"button\">collapse all</button></div>"
            + "".join(items)
            + "<div class=\"none\" id=\"failures-none\" hidden>no failure matches the filters</div></section>")


def _failure(r: dict[str, Any], exchange: dict[str, Any] | None, anchor: str) -> str:
    outcome = r["outcome"]
    data = _data_attrs(r)
    summary = (f"<summary><span class=\"badge {outcome}\">{outcome}</span> <b class=\"mono\">{_e(r['check_id'])}</b> "
               f"on <span class=\"mono\">{_e(r['case_id'])}</span>"
               + (f" · model <b>{_e(r['model'])}</b>" if r.get("model") else "")
               + f" <span class=\"title\">— {_e(r.get('title', ''))}</span></summary>")
    facts = [("family", _family(r["endpoint"])), ("endpoint", r["endpoint"]),
             ("case", f"{r['case_id']} ({r.get('operation', '')}{', stream' if r.get('stream') else ''})"),
             ("model", r.get("model") or "-"), ("auth", r.get("auth")), ("severity", r.get("severity")),
             ("spec", r.get("spec"))]
    out = [f"<details class=\"failure {outcome}\" open id=\"{anchor}\" {data}>", summary, "<div class=\"fbody\">",
           "<div class=\"facts\">" + "".join(f"<span><b>{_e(k)}</b> <span class=\"mono\">{_e(v)}</span></span>"
                                           for k, v in facts) + "</div>",
           f"<div class=\"finding\">{_e(r.get('message', ''))}</div>"]
    violations = r.get("violations") or []
    if violations:
        out.append("<table class=\"viol\"><thead><tr><th>pointer</th><th>violation</th><th>rule</th><th>spec</th>"
                   "</tr></thead><tbody>" + "".join(
                       f"<tr><td class=\"mono\">{_e(v.get('pointer') or '/')}</td><td>{_e(v.get('message'))}</td>"
                       f"<td class=\"mono\">{_e(v.get('rule'))}</td><td class=\"mono\">{_e(v.get('spec'))}</td></tr>"
                       for v in violations) + "</tbody></table>")
    if exchange:
        out.append(_exchange(exchange, anchor))
    else:
        out.append("<p class=\"none\">no exchange recorded for this result (not sent, or not in exchanges.json)</p>")
    text = format_failure(_result(r), exchange)
    out.append(f"<details><summary>as plain text (for an issue or a chat)</summary><pre>{_e(text)}</pre></details>")
    out.append("</div></details>")
    return "".join(out)


def _exchange(ex: dict[str, Any], anchor: str) -> str:
    req_headers = "\n".join(f"{k}: {v}" for k, v in (ex.get("request_headers") or {}).items())
    request = f"{ex.get('method', '')} {ex.get('url', '')}\n{req_headers}"
    if ex.get("request_body"):
        request += "\n\n" + _clip(_pretty(ex["request_body"]), BODY_LIMIT)
    if ex.get("fault"):
        response = f"no answer: {ex['fault']}"
    else:
        headers = "\n".join(f"{k}: {v}" for k, v in (ex.get("response_headers") or {}).items())
        response = f"HTTP {ex.get('status')}  ({ex.get('body_bytes', 0)} bytes"
        if ex.get("events"):
            response += f", {ex['events']} events"
        response += f", {ex.get('elapsed', 0)} s" + (", replayed" if ex.get("replayed") else "") + ")\n" + headers
        body = ex.get("body") or ""
        response += "\n\n" + (_clip(_pretty(body), BODY_LIMIT) if body else "(empty body)")
        stop = ex.get("stop")
        if isinstance(stop, dict):
            at = f" at byte {stop['offset']}" if stop.get("offset") is not None else ""
            response += f"\n\n[the body ended badly: {stop.get('reason', '')}{at}: {stop.get('detail', '')}]"
    return ("<div class=\"ex\"><div><h4>request (redacted)</h4>"
            f"<pre>{_e(request)}</pre></div><div><h4>response</h4><pre>{_e(response)}</pre></div></div>"
            "<div class=\"curlbar\"><h4>reproduce (put your key back where it says REDACTED)</h4>"
            f"<button type=\"button\" class=\"copy\" data-target=\"curl-{anchor}\">copy</button></div>"
            f"<pre class=\"curl\" id=\"curl-{anchor}\">{_e(curl(ex))}</pre>")


def _data_attrs(r: dict[str, Any]) -> str:
    return (f"data-outcome=\"{_e(r['outcome'])}\" data-endpoint=\"{_e(r['endpoint'])}\" "
            f"data-model=\"{_e(r.get('model') or '')}\" data-check=\"{_e(r['check_id'])}\" "
            f"data-case=\"{_e(r['case_id'])}\"")


def _results(rows: list[dict[str, Any]], anchors: dict[int, str]) -> str:
    body = []
    for r in rows:
        outcome = r["outcome"]
        message = r.get("message", "")
        if outcome == Outcome.XFAILED and r.get("expected_reason"):
            message = f"known deviation: {r['expected_reason']} ({message})"
        anchor = anchors.get(id(r))
        check = (f"<a href=\"#{anchor}\">{_e(r['check_id'])}</a>" if anchor else _e(r["check_id"]))
        body.append(
            f"<tr class=\"r r-{outcome}\" {_data_attrs(r)}><td><span class=\"badge {outcome}\">{outcome}</span></td>"
            f"<td class=\"mono\">{check}</td><td class=\"mono\">{_e(r['case_id'])}</td>"
            f"<td>{_e(r.get('model') or '-')}</td><td>{_e(r['endpoint'])}</td><td>{_e(r.get('auth'))}</td>"
            f"<td>{'stream' if r.get('stream') else ''}</td><td>{_e(r.get('severity'))}</td>"
            f"<td class=\"msg\" title=\"{_e(message)}\">{_e(_clip(message, MESSAGE_LIMIT))}</td></tr>")
    return ("<section id=\"results\"><h2>Every result</h2>"
            "<table class=\"results\"><colgroup>" + "".join(
                f"<col class=\"c-{c}\">" for c in ("outcome", "check", "case", "model", "endpoint", "auth", "stream",
                                                    "severity", "msg"))
            + "</colgroup><thead><tr><th>outcome</th><th>check</th><th>case</th><th>model</th><th>endpoint</th>"
            "<th>auth</th><th>stream</th><th>severity</th><th class=\"msg\">message</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            "<div class=\"none\" id=\"results-none\" hidden>no result matches the filters</div></section>")


def write_report(report_dir: Path, results: dict[str, Any] | None = None,
                 exchanges: dict[str, Any] | None = None) -> Path:
    """Write ``report.html`` into ``report_dir`` from its ``results.json`` and ``exchanges.json``
    (or from the documents given)."""
    from .matrix import build_matrix

    report_dir = Path(report_dir)
    if results is None:
        results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    if exchanges is None:
        path = report_dir / "exchanges.json"
        exchanges = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    page = render_page(results, exchanges, build_matrix(results))
    out = report_dir / REPORT_NAME
    out.write_text(page, encoding="utf-8", errors="replace")  # a lone surrogate from a gateway: U+FFFD, not 0 bytes
    return out
