"""A gateway that refuses every call with a tidy 400 must fail the run, not hide behind "unsupported".

Where a model claims an endpoint (supported_endpoint_types in GET /v1/models), its clean refusal is a failure
under every profile. Where nothing claims it, the skip stays, and the summary's first lines say how many case
runs were skipped as unsupported and why.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from oimi_conformance.cli import main
from oimi_conformance.endpoints import claim_of_endpoint
from oimi_conformance.profile import profile_names

REFUSAL = json.dumps({"error": {"message": "this gateway refuses everything", "type": "invalid_request_error",
                                "param": None, "code": "unsupported"}}).encode()


def _handler(listing: bytes | None) -> type[BaseHTTPRequestHandler]:
    class Refuser(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            listed = listing is not None and self.command == "GET" and self.path.split("?")[0] == "/v1/models"
            body = listing if listed else REFUSAL
            self.send_response(200 if listed else 400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Refuser


@contextmanager
def refusing_gateway(listing: dict | None) -> Iterator[str]:
    """A loopback gateway answering 400 to every call; ``listing``: GET /v1/models is answered with it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(json.dumps(listing).encode() if listing else None))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


CLAIMS_EVERYTHING = {"object": "list", "data": [{
    "id": "stub-model", "object": "model", "created": 0, "owned_by": "stub",
    "supported_endpoint_types": sorted(set(claim_of_endpoint().values()))}]}


def _run(base_url: str, tmp_path, *extra: str) -> tuple[int, list[dict]]:
    code = main(["run", "--base-url", base_url, "--api-key", "sk-stub", "--report-dir", str(tmp_path), "-q",
                 "--max-requests", "400", *extra])
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    return code, results


@pytest.mark.parametrize("profile", profile_names())
@pytest.mark.slow
def test_refusing_every_claimed_endpoint_fails_under_every_profile(tmp_path, capsys, profile):
    with refusing_gateway(CLAIMS_EVERYTHING) as base_url:
        code, results = _run(base_url, tmp_path, "--profile", profile)
    capsys.readouterr()
    assert code == 1
    # the basic request of every claimed endpoint was refused, and each refusal is a failure, not a skip
    refused = {r["case_id"] for r in results if r["check_id"] == "http.expected-status" and r["outcome"] == "failed"
               and r["model"] == "stub-model"}
    assert {"chat.basic", "responses.basic", "messages.basic", "gemini.basic", "embeddings.single"} <= refused
    excused = [r for r in results if r["outcome"] == "skipped" and r["message"].startswith("unsupported")
               and r["case_id"] in refused]
    assert excused == []


@pytest.mark.slow
def test_refusing_everything_fails_the_run_and_the_summary_says_how_much_was_unsupported(tmp_path, capsys):
    with refusing_gateway(None) as base_url:
        code, results = _run(base_url, tmp_path, "--models", "stub-model")
    out = capsys.readouterr().out
    assert code == 1
    unsupported_runs = {(r["case_id"], r["model"]) for r in results
                        if r["outcome"] == "skipped" and r["message"].startswith("unsupported")}
    assert unsupported_runs, "no per-model case was skipped as unsupported: the scenario did not happen"
    summary = out[out.index("= oimi-conformance ="):].splitlines()
    # the first lines of the summary: the target, then how many case runs were skipped as unsupported, and why
    assert summary[2].startswith(f"unsupported: {len(unsupported_runs)} case run(s)"), summary[:4]
    assert "stub-model" in summary[3] and "HTTP 400" in summary[3] and "refuses everything" in summary[3]
