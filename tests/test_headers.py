"""--header / OIMI_HEADERS / a profile's [headers], and --secret-header: on the wire of every command,
in the curl line and the cassettes, redacted where secret, refused where it would replace a credential."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from oimi_conformance.cli import main
from oimi_conformance.diagnosis import curl
from oimi_conformance.exceptions import UsageError
from oimi_conformance.headers import collect

VALID = "sk-sandbox-valid"
SECRET = "cf-aig-secret-7f3a9c2e"
ARGS = ["--header", "X-Trace-Tag: oimi-17", "--header", f"cf-aig-authorization: Bearer {SECRET}",
        "--secret-header", "cf-aig-authorization"]


class _Recorder:
    """A loopback proxy in front of the sandbox that keeps every request's headers."""

    def __init__(self, upstream: str) -> None:
        self.seen: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = httpx.request(self.command, upstream + self.path, headers=headers, content=body or None,
                                       timeout=30, trust_env=False)
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder(sandbox):
    with _Recorder(sandbox.base_url) as running:
        yield running


def _files_text(folder) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def test_run_sends_the_headers_on_every_request_and_redacts_the_secret(recorder, tmp_path, capsys):
    code = main(["run", "--base-url", recorder.url, "--api-key", VALID, "--report-dir", str(tmp_path), "-q",
                 "--cases", "models.list,chat.basic", *ARGS])
    out = capsys.readouterr()
    assert code == 0, out.out[-2000:]
    assert len(recorder.seen) >= 2  # discovery and the chat case
    for headers in recorder.seen:
        assert headers["x-trace-tag"] == "oimi-17"
        assert headers["cf-aig-authorization"] == f"Bearer {SECRET}"
    exchanges = json.loads((tmp_path / "exchanges.json").read_text())
    chat = next(e for e in exchanges.values() if e["url"].endswith("/v1/chat/completions"))
    assert chat["request_headers"]["x-trace-tag"] == "oimi-17"
    assert chat["request_headers"]["cf-aig-authorization"] == "Bearer REDACTED"
    line = curl(chat)
    assert "-H 'x-trace-tag: oimi-17'" in line and "-H 'cf-aig-authorization: Bearer REDACTED'" in line
    assert SECRET not in _files_text(tmp_path) + out.out + out.err


def test_matrix_and_the_environment_and_a_profile_table(recorder, tmp_path, monkeypatch, capsys):
    profile = tmp_path / "gw.toml"
    profile.write_text('name = "gw"\n[auth]\nundocumented_style = "report"\n'
                       '[headers]\nHTTP-Referer = "https://example.test"\nX-Title = "from-profile"\n')
    monkeypatch.setenv("OIMI_HEADERS", "X-Title: from-env\nHelicone-Auth: Bearer helicone-secret-1")
    code = main(["matrix", "--base-url", recorder.url, "--api-key", VALID, "--report-dir", str(tmp_path / "m"),
                 "-q", "--profile", str(profile), "--capabilities", "chat", "--models", "sandbox-omni",
                 "--header", "X-Title: from-cli", "--secret-header", "helicone-auth"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert recorder.seen
    for headers in recorder.seen:
        assert headers["http-referer"] == "https://example.test"  # the profile's
        assert headers["x-title"] == "from-cli"  # --header beats OIMI_HEADERS beats the profile
        assert headers["helicone-auth"] == "Bearer helicone-secret-1"
    assert "helicone-secret-1" not in _files_text(tmp_path / "m") + out.out + out.err


def test_a_credential_header_is_refused_in_one_line(capsys):
    code = main(["run", "--base-url", "http://127.0.0.1:9", "--api-key", VALID, "-q",
                 "--header", "Authorization: Bearer other"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "Authorization" in err and "--api-key" in err


def test_collect_rules():
    got = collect({"A": "1", "B": "1"}, ["b: 3"], env={"OIMI_HEADERS": "A: 2\nC: x,y;z"})
    assert dict(got.values) == {"A": "2", "b": "3", "C": "x,y;z"}
    assert collect(None, ["Api-Key: azure-1"], ["api-key"], env={}).secrets == ["azure-1"]
    for bad in (["no colon"], ["bad name: v"], ["x-api-key: k"], ["X-Goog-Api-Key: k"]):
        with pytest.raises(UsageError):
            collect(None, bad, env={})
    with pytest.raises(UsageError, match="no such header"):
        collect(None, ["A: 1"], ["B"], env={})


def test_a_case_header_of_the_same_name_wins_and_a_credential_clash_is_refused():
    extra = collect(None, ["anthropic-version: 2099-01-01", "X-Gw: 1"], env={})
    applied = extra.applied({"x-api-key": "k", "anthropic-version": "2023-06-01"}, "case m")
    assert applied == {"X-Gw": "1", "x-api-key": "k", "anthropic-version": "2023-06-01"}


@pytest.mark.slow
def test_cassettes_match_on_the_extra_headers(sandbox, tmp_path, capsys):
    cassettes = tmp_path / "c"
    common = ["--cases", "chat.basic", "--models", "sandbox-omni", "-q", "--cassette-dir", str(cassettes)]
    assert main(["run", "--base-url", sandbox.base_url, "--api-key", VALID, "--record", *common,
                 "--report-dir", str(tmp_path / "rec"), *ARGS]) == 0
    assert SECRET not in _files_text(cassettes)
    meta = json.loads((cassettes / "_run.json").read_text())
    assert meta["headers"]["cf-aig-authorization"] == "Bearer REDACTED"
    assert meta["secret_headers"] == ["cf-aig-authorization"]
    # the replay sends the recorded headers again and finds its answers
    assert main(["run", "--replay", str(cassettes), *common, "--report-dir", str(tmp_path / "same")]) == 0
    # a replay that sends another value of the header does not match the recording
    code = main(["run", "--replay", str(cassettes), *common, "--report-dir", str(tmp_path / "other"),
                 "--header", "X-Trace-Tag: another"])
    capsys.readouterr()
    results = json.loads((tmp_path / "other" / "results.json").read_text())["results"]
    assert code == 1 and all("hold no POST" in r["message"] for r in results if r["outcome"] == "failed")


def test_sdk_clients_send_the_headers(recorder):
    from oimi_conformance.profile import load_profile
    from oimi_conformance.sdk import SdkContext, SdkTarget, sdk_checks

    target = SdkTarget(base_url=recorder.url, key=VALID, models=[], profile=load_profile("oimi"),
                       headers={"X-Trace-Tag": "sdk-17"})
    for name, call in (("openai", lambda c: c.models.list()), ("anthropic", lambda c: c.models.list()),
                       ("genai", lambda c: list(c.models.list()))):
        check = next(c for c in sdk_checks() if c.id.split(".")[1] == {"genai": "google"}.get(name, name))
        recorder.seen.clear()
        call(getattr(SdkContext(check, target), name)())
        assert recorder.seen and all(h.get("x-trace-tag") == "sdk-17" for h in recorder.seen), name


def test_fuzz_gives_schemathesis_the_headers():
    import schemathesis

    from oimi_conformance.fuzz.settings import FuzzOptions, FuzzTarget, schemathesis_config

    config = schemathesis_config(FuzzTarget("http://127.0.0.1:1", VALID, {}, {"X-Trace-Tag": "fuzz-17"}),
                                 FuzzOptions(), ["createChatCompletion"])
    loaded = schemathesis.Config.from_dict(config)
    assert loaded.projects.get_default().headers == {"X-Trace-Tag": "fuzz-17"}


@pytest.mark.slow
def test_fuzz_sends_the_headers_on_every_generated_request(recorder, tmp_path, capsys):
    code = main(["fuzz", "--base-url", recorder.url, "--api-key", VALID, "--operations", "createEmbedding",
                 "--models", "sandbox-embed", "--seed", "1", "--max-examples", "5", "--report-dir", str(tmp_path),
                 "-q", *ARGS])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    assert len(recorder.seen) >= 3
    for headers in recorder.seen:
        assert headers["x-trace-tag"] == "oimi-17" and headers["cf-aig-authorization"] == f"Bearer {SECRET}"
    assert SECRET not in _files_text(tmp_path) + out.out + out.err
