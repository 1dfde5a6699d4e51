"""Issue 11, bounded in memory and time: big bodies spill to disk, huge model lists are refused before
planning, --max-duration ends the run with its reports, Retry-After waits are capped by the run's timeouts."""

from __future__ import annotations

import json

import pytest

from oimi_conformance import exchange as exchange_module
from oimi_conformance.cli import main
from oimi_conformance.exchange import Exchange
from oimi_conformance.testing.hostile import HostileConfig, start_hostile

KEY = "sk-hostile-secret-key-42"


def _run(base_url: str, tmp_path, *extra: str) -> int:
    return main(["run", "--base-url", base_url, "--api-key", KEY, "--report-dir", str(tmp_path / "report"), "-q",
                 *extra])


def _results(tmp_path) -> dict:
    return json.loads((tmp_path / "report" / "results.json").read_text())


def test_a_big_body_is_kept_on_disk_and_read_back_for_judging():
    big = b'{"a":"' + b"x" * (exchange_module.SPILL_BYTES + 10) + b'"}'
    exchange = Exchange("c/m/main", "GET", "http://h/", {}, None, body=big)
    assert exchange.__dict__["_body"] == b"" and exchange.__dict__["_spilled"].is_file()
    assert exchange.body == big and exchange.json == {"a": "x" * (exchange_module.SPILL_BYTES + 10)}
    assert exchange.body_size == len(big) and exchange.as_dict()["body"].endswith("more bytes)")
    small = Exchange("c/m/main", "GET", "http://h/", {}, None, body=b"{}")
    assert small.__dict__["_spilled"] is None and small.json == {}


def test_big_answers_are_judged_and_their_wire_size_reported(tmp_path):
    with start_hostile(HostileConfig(mode="big", body_bytes=3 * 1024 * 1024)) as hostile:
        # the hostile gateway sends no request id and bills 1 token for 3 MiB: true findings, not this test's
        code = _run(hostile.base_url, tmp_path, "--models", "hostile-chat", "--cases", "chat.basic",
                    "--exclude-checks", "http.request-id,accounting.*")
    assert code == 0, _results(tmp_path)
    exchanges = json.loads((tmp_path / "report" / "exchanges.json").read_text())
    main_exchange = exchanges["chat.basic/hostile-chat/main"]
    assert main_exchange["body_bytes"] >= 3 * 1024 * 1024 - 200
    assert len(main_exchange["body"]) < 10_000  # a preview, not the body


@pytest.mark.slow
def test_a_huge_model_list_asks_for_models_or_max_models(tmp_path, capsys):
    with start_hostile(HostileConfig(model_count=200_000)) as hostile:
        code = _run(hostile.base_url, tmp_path)
        err = capsys.readouterr().err
        assert code == 2 and "listed 200001 models" in err and "--max-models" in err and err.count("\n") == 1
        code = _run(hostile.base_url, tmp_path, "--max-models", "2", "--cases", "chat.basic")
    assert code in (0, 1)
    assert {r["model"] for r in _results(tmp_path)["results"]} == {"hostile-chat", "m-00000"}


def test_max_duration_ends_an_endless_run_with_its_reports(tmp_path, capsys):
    with start_hostile(HostileConfig(mode="endless")) as hostile:
        code = _run(hostile.base_url, tmp_path, "--models", "hostile-chat", "--cases", "chat.stream",
                    "--max-duration", "1", "--timeout", "600")
    results = _results(tmp_path)["results"]
    # the reports are written, and a run stopped before it judged anything does not pass
    assert code == 1 and results
    assert "nothing was judged" in capsys.readouterr().out
    assert all(r["outcome"] == "skipped" and "--max-duration" in r["message"] for r in results)
    assert (tmp_path / "report" / "report.html").stat().st_size > 0


def test_retry_after_waits_are_capped_by_the_timeout_and_elapsed_is_true(tmp_path):
    with start_hostile(HostileConfig(mode="retry-after")) as hostile:
        _run(hostile.base_url, tmp_path, "--models", "hostile-chat", "--cases", "chat.basic", "--timeout", "0.2")
        sent = [r for r in hostile.config.requests if r.startswith("POST")]
    exchanges = json.loads((tmp_path / "report" / "exchanges.json").read_text())
    record = exchanges["chat.basic/hostile-chat/main"]
    assert record["status"] == 429 and record["attempts"] == len(sent) == 4
    # three waits, each capped at --timeout (not Retry-After: 100000), all counted in elapsed
    assert record["elapsed"] >= 3 * 0.2


def test_the_curl_reproducer_sends_the_content_type_that_was_sent(tmp_path):
    from oimi_conformance.diagnosis import curl

    with start_hostile(HostileConfig(mode="raw-text")) as hostile:
        _run(hostile.base_url, tmp_path, "--models", "hostile-chat", "--cases", "chat.basic")
    record = json.loads((tmp_path / "report" / "exchanges.json").read_text())["chat.basic/hostile-chat/main"]
    assert record["request_headers"]["content-type"] == "application/json"
    assert "-H 'content-type: application/json'" in curl(record)


def test_a_retry_wait_never_exceeds_the_timeout():
    from oimi_conformance.scheduler import RetryPolicy
    from oimi_conformance.stream_limits import StreamLimits

    retry = RetryPolicy(StreamLimits(idle_timeout=0.2, total_timeout=0.8))
    answer = Exchange("c/m/main", "POST", "http://h/", {}, None, status=429, response_headers={"retry-after": "100000"})
    assert retry.wait(answer, 1) == 0.2
    answer.response_headers["retry-after"] = "nan"
    assert retry.wait(answer, 1) == 0.0


def test_the_events_of_a_big_stream_are_read_again_from_disk_with_their_arrival_times():
    from oimi_conformance.sse import SSEReader

    body = b"".join(b'data: {"n":%d}\n\n' % n for n in range(100_000))
    events = SSEReader().feed(body, 0.0)
    timed = [type(e)(e.data, e.event, e.id, e.retry, e.index, e.offset, n / 1000) for n, e in enumerate(events)]
    exchange = Exchange("c/m/main", "POST", "http://h/", {}, None, body=body, events=timed)
    assert exchange.__dict__["_events"] == [] and exchange.event_count == 100_000  # not held in memory
    again = exchange.events
    assert [e.data for e in again[:3]] == ['{"n":0}', '{"n":1}', '{"n":2}']
    assert again[-1].arrival == timed[-1].arrival and exchange.as_dict()["events"] == 100_000
