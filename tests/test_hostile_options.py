"""Issue 11, bad options and files: one clear line, exit 2, before anything is sent."""

from __future__ import annotations

import json
import os
import socket

import pytest

from oimi_conformance.cli import main
from oimi_conformance.testing.hostile import HostileConfig, _Gateway, start_hostile

KEY = "sk-hostile-secret-key-42"


@pytest.fixture(scope="module")
def hostile():
    with start_hostile(HostileConfig()) as running:
        yield running


def _one_line_exit_2(capsys, argv: list[str], expected: str) -> None:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert expected in captured.err and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.parametrize("extra, expected", [
    (["--concurrency", "0"], "--concurrency must be at least 1"),
    (["--concurrency", "-3"], "--concurrency must be at least 1"),
    (["--max-requests", "-1"], "--max-requests must be at least 1"),
    (["--max-requests", "0"], "--max-requests must be at least 1"),
    (["--timeout", "-5"], "--timeout must be a positive number"),
    (["--timeout", "nan"], "--timeout must be a positive number"),
    (["--max-duration", "0"], "--max-duration must be a positive number"),
    (["--max-models", "0"], "--max-models must be at least 1"),
    (["--cases", "chat.basic,nosuch*"], "no case matches nosuch*"),
    (["--report-dir", "FILE"], "is a file, not a folder"),
    (["--report-dir", "FILE/sub"], "cannot be written"),
])
@pytest.mark.parametrize("command", ["run", "matrix"])
def test_bad_options_are_refused_before_anything_is_sent(hostile, tmp_path, capsys, command, extra, expected):
    (tmp_path / "FILE").write_text("x")
    extra = [str(tmp_path / a) if a.startswith("FILE") else a for a in extra]
    before = len(hostile.config.requests)
    argv = [command, "--base-url", hostile.base_url, "--api-key", KEY, "--models", "hostile-chat",
            "--report-dir", str(tmp_path / "report"), *extra]
    _one_line_exit_2(capsys, argv, expected)
    assert len(hostile.config.requests) == before


@pytest.mark.parametrize("command", ["run", "fuzz", "matrix"])
def test_a_mistyped_sandbox_deviation_is_one_line(tmp_path, capsys, command):
    _one_line_exit_2(capsys, [command, "--sandbox-deviation", "nosuch", "--report-dir", str(tmp_path)],
                     "unknown sandbox deviation(s): nosuch")


def test_sandbox_port_out_of_range_or_in_use(capsys):
    _one_line_exit_2(capsys, ["sandbox", "--port", "99999"], "--port must be from 1 to 65535")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        _one_line_exit_2(capsys, ["sandbox", "--port", str(taken.getsockname()[1])], "cannot serve on 127.0.0.1")
    _one_line_exit_2(capsys, ["sandbox", "--deviation", "nosuch"], "unknown sandbox deviation(s): nosuch")


def test_validate_reads_devices_and_pipes_and_names_folders(tmp_path, capsys):
    _one_line_exit_2(capsys, ["validate", "--kind", "openai.chat.completion", str(tmp_path)], "is a folder")
    assert main(["validate", "--kind", "openai.chat.completion", "/dev/null"]) == 1
    assert "framing.invalid-json" in capsys.readouterr().out
    read, write = os.pipe()  # what `<(cat body.json)` hands over: /dev/fd/N
    os.write(write, b'{"id": 1}')
    os.close(write)
    try:
        assert main(["validate", "--kind", "openai.chat.completion", f"/dev/fd/{read}"]) == 1
    finally:
        os.close(read)
    out = capsys.readouterr().out
    assert "required property" in out and "no such file" not in out


def test_validate_shows_text_not_python_bytes_and_names_a_json_body_given_as_a_stream(tmp_path, capsys):
    body = tmp_path / "b.json"
    body.write_bytes(b"\xff not json")
    assert main(["validate", "--kind", "openai.chat.completion", str(body)]) == 1
    assert "b'" not in capsys.readouterr().out
    body.write_text('{"id": "x", "object": "chat.completion"}')
    assert main(["validate", "--kind", "openai.chat.completion.stream", str(body)]) == 1
    out = capsys.readouterr().out
    assert "framing.not-a-stream" in out and "mid-event" not in out


@pytest.mark.parametrize("content", ['{"results":[{"x":1}]}', '{"results":"abc"}', "[1]", "{nope",
                                     '{"results":[], "models": [1]}'])
def test_diff_of_a_malformed_results_file_is_one_line(tmp_path, capsys, content):
    bad = tmp_path / "results.json"
    bad.write_text(content)
    _one_line_exit_2(capsys, ["diff", str(bad), str(bad)], str(bad))


def test_the_body_size_shown_is_the_size_on_the_wire(tmp_path):
    with start_hostile(HostileConfig(mode="echo-key")) as hostile:
        main(["run", "--base-url", hostile.base_url, "--api-key", KEY, "--models", "hostile-chat", "--cases",
              "chat.basic", "--report-dir", str(tmp_path), "-q"])
    _, _, sent = _Gateway(HostileConfig(mode="echo-key")).answer(
        "POST", "/v1/chat/completions", {"authorization": f"Bearer {KEY}"}, b"{}")
    record = json.loads((tmp_path / "exchanges.json").read_text())["chat.basic/hostile-chat/main"]
    assert isinstance(sent, bytes) and record["body_bytes"] == len(sent) > len(record["body"].encode())
