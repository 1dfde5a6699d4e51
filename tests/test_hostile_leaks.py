"""Issue 11, keys: a gateway that echoes the key in every encoding leaves no form of it in anything written."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from oimi_conformance.cassettes import CassetteLeak, guard
from oimi_conformance.cli import main
from oimi_conformance.plan import never_issued_keys
from oimi_conformance.redact import REDACTED, Redactor
from oimi_conformance.testing.hostile import HostileConfig, echo_forms, start_hostile

KEY = "sk-hostile-secret-key-42"
NEVER_ISSUED = never_issued_keys()[0]


def _decoded_strings(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _assert_no_form(blob: bytes, where: str) -> None:
    for key in (KEY, NEVER_ISSUED):
        for name, form in echo_forms(key).items():
            assert form.encode() not in blob, f"{where}: the {name} form of {key[:6]}... leaked"
            assert form.upper().encode() not in blob, f"{where}: the {name} form (upper case) leaked"
    assert Redactor([KEY, NEVER_ISSUED]).leaks(blob) == [], where


@pytest.mark.slow
def test_every_encoding_of_every_presented_key_stays_out_of_everything_written(tmp_path, capfd):
    report = tmp_path / "report"
    with start_hostile(HostileConfig(mode="echo-key")) as hostile:
        code = main(["run", "--base-url", hostile.base_url, "--api-key", KEY, "--models", "hostile-chat",
                     "--cases", "chat.basic,chat.stream,auth.*wrong-key*,models.list*,gemini.stream.*,messages.stream",
                     "--report-dir",
                     str(report), "--alluredir", str(report / "allure-results"), "--record", "--cassette-dir",
                     str(tmp_path / "cassettes")])
    out, err = capfd.readouterr()
    assert code == 1
    _assert_no_form((out + err).encode(), "terminal")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {"results.json", "exchanges.json", "report.html", "junit.xml", "_run.json"} <= names
    assert any(p.suffix == ".yaml" for p in written) and any("allure-results" in str(p) for p in written)
    for path in written:
        data = path.read_bytes()
        _assert_no_form(data, str(path))
        if path.suffix == ".json":  # and nothing that decodes to a key
            for text in _decoded_strings(json.loads(data)):
                assert KEY not in text and NEVER_ISSUED not in text, path
    results = json.loads((report / "results.json").read_text())["results"]
    echoed = {r["case_id"] for r in results if r["check_id"] == "auth.key-not-echoed" and r["outcome"] == "failed"}
    # the never-issued key the harness itself sends counts as presented
    assert {"chat.basic", "auth.chat.wrong-key"} <= echoed


@pytest.mark.parametrize("form", list(echo_forms("k").keys()))
def test_each_encoding_is_redacted_and_detected(form):
    redactor = Redactor([KEY])
    echoed = echo_forms(KEY)[form]
    text = f'{{"message": "x {echoed} y"}}'
    assert redactor.leaks(text) == ["key #1"]
    assert redactor.leaks(redactor.text(text)) == [] and REDACTED in redactor.text(text)
    assert redactor.leaks(redactor.data(text.encode())) == []


def test_base64_at_every_alignment_and_mixed_escapes():
    redactor = Redactor([KEY])
    for prefix in (b"", b"x", b"xy", b"Bearer ", b"Basic u:"):
        assert redactor.leaks(base64.b64encode(prefix + KEY.encode() + b"!")) == ["key #1"], prefix
        assert redactor.leaks(base64.urlsafe_b64encode(prefix + KEY.encode())) == ["key #1"], prefix
    mixed = "".join(f"%{ord(c):02x}" if n % 2 else f"\\u{ord(c):04X}" for n, c in enumerate(KEY))
    assert redactor.leaks(mixed) == ["key #1"] and redactor.text(mixed) == REDACTED


def test_a_header_name_carrying_the_key_is_redacted():
    headers = Redactor([KEY]).headers([(f"x-echo-{KEY}", "1"), ("x-b64", echo_forms(KEY)["base64-bearer"])])
    assert not Redactor([KEY]).leaks(json.dumps(headers))


def test_decoded_structures_and_stream_events_are_redacted():
    from oimi_conformance.sse import SSEReader

    redactor = Redactor([KEY])
    assert redactor.value({"a": [KEY, {KEY: "x"}]}) == {"a": [REDACTED, {REDACTED: "x"}]}
    event = SSEReader().feed(f'data: {{"k":"{echo_forms(KEY)["json-escaped"]}"}}\n\n'.encode())[0]
    assert KEY not in json.loads(redactor.event(event).data).get("k", "")


@pytest.mark.parametrize("form", [*echo_forms("k"), "yaml-escaped", "yaml-binary", "header-name"])
def test_the_cassette_guard_detects_every_encoding(tmp_path, form):
    path = tmp_path / "c.yaml"
    if form == "yaml-escaped":
        value = '"' + "".join(f"\\x{ord(c):02x}" for c in KEY) + '"'
    elif form == "yaml-binary":
        value = "!!binary " + base64.b64encode(b"\x00\xff" + KEY.encode()).decode()
    elif form == "header-name":
        value = "'1'"
    else:
        value = json.dumps(echo_forms(KEY)[form])
    header = f"x-echo-{KEY}" if form == "header-name" else "x-ok"
    path.write_text("interactions:\n- request: {method: GET, uri: 'http://h/', body: '', headers: {}}\n"
                    f"  response:\n    status: {{code: 200}}\n    headers: {{{header}: ['1']}}\n"
                    f"    body: {{string: {value}}}\nversion: 1\n")
    with pytest.raises(CassetteLeak):
        guard([path], [KEY])
    assert not path.exists()


def test_the_guard_keeps_a_clean_cassette(tmp_path):
    path = Path(tmp_path / "c.yaml")
    path.write_text("interactions: []\nversion: 1\n")
    guard([path], [KEY])
    assert path.exists()


@pytest.mark.slow
def test_the_fuzz_report_holds_no_form_of_the_key(tmp_path, capfd):
    with start_hostile(HostileConfig(mode="echo-key")) as hostile:
        code = main(["fuzz", "--base-url", hostile.base_url, "--api-key", KEY, "--models", "hostile-chat",
                     "--operations", "createChatCompletion", "--max-examples", "2", "--report-dir", str(tmp_path),
                     "--alluredir", str(tmp_path / "allure-results")])
    out, err = capfd.readouterr()
    assert code == 1  # findings: the refusals echo the key
    _assert_no_form((out + err).encode(), "terminal")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "results.json" for p in written)
    for path in written:
        _assert_no_form(path.read_bytes(), str(path))
