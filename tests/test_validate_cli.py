"""`oimi-conformance validate`: exit codes 0 / 1 / 2, text and JSON output, stdin, --list-kinds."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from oimi_conformance.cli import main
from oimi_conformance.kinds import kinds

from . import bodies as b

REQUIRED_KINDS = {
    "openai.chat.completion", "openai.chat.completion.stream", "openai.responses", "openai.responses.stream",
    "openai.responses.compact", "openai.embeddings", "openai.images", "openai.models", "rerank",
    "anthropic.messages", "anthropic.messages.stream", "anthropic.models", "gemini.generate_content",
    "gemini.stream.sse", "gemini.stream.json_array", "gemini.models", "error.openai", "error.anthropic",
    "error.google",
}


def test_every_required_kind_is_in_the_catalogue():
    assert set(kinds()) >= REQUIRED_KINDS


def test_list_kinds(capsys):
    assert main(["validate", "--list-kinds"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert listed == set(kinds())


def test_conforming_body_exits_0(tmp_path, capsys):
    path = tmp_path / "body.json"
    path.write_text(json.dumps(b.CHAT_COMPLETION))
    assert main(["validate", "--kind", "openai.chat.completion", str(path)]) == 0
    assert "conforms" in capsys.readouterr().out


def test_violations_exit_1_and_are_listed(tmp_path, capsys):
    body = dict(b.CHAT_COMPLETION, object="chat.completion.chunk")
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    assert main(["validate", "--kind", "openai.chat.completion", str(path)]) == 1
    out = capsys.readouterr().out
    assert "/object" in out and "schema.const" in out and "specs/schemas/openai/chat.completion.json" in out


def test_json_output(tmp_path, capsys):
    path = tmp_path / "stream.txt"
    path.write_text(b.sse(b.chat_stream_events(), done=False))
    assert main(["validate", "--kind", "openai.chat.completion.stream", "--json", str(path)]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False and verdict["events"] == 5
    assert [v["rule"] for v in verdict["violations"]] == ["grammar.incomplete"]


def test_request_enables_request_dependent_rules(tmp_path):
    stream = tmp_path / "stream.txt"
    stream.write_text(b.sse(b.chat_stream_events()[:-1], done=True))
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"stream_options": {"include_usage": True}}))
    assert main(["validate", "--kind", "openai.chat.completion.stream", str(stream)]) == 0
    assert main(["validate", "--kind", "openai.chat.completion.stream", "--request", str(request), str(stream)]) == 1


@pytest.mark.parametrize("argv", [
    ["validate", "--kind", "no.such.kind", "-"],
    ["validate", "--kind", "openai.chat.completion", "/no/such/file"],
    ["validate"],
])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("oimi-conformance: error:") and "Traceback" not in err


def test_unknown_kind_names_the_known_ones(capsys):
    main(["validate", "--kind", "openai.chat", "-"])
    assert "openai.chat.completion" in capsys.readouterr().err


def test_console_script_reads_stdin():
    body = b.sse(b.anthropic_stream_events(), named=True)
    proc = subprocess.run([sys.executable, "-m", "oimi_conformance.cli", "validate", "--kind",
                           "anthropic.messages.stream", "-"], input=body.encode(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert b"conforms" in proc.stdout


def test_html_instead_of_json_is_a_violation_not_a_crash(tmp_path, capsys):
    path = tmp_path / "page.html"
    path.write_bytes(b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    assert main(["validate", "--kind", "error.openai", str(path)]) == 1
    assert "framing.invalid-json" in capsys.readouterr().out
