"""--shard K/N and `oimi-conformance merge`: N shards merged equal the unsharded run, for `run` and `matrix`."""

from __future__ import annotations

import json

import pytest

from oimi_conformance.cli import main
from oimi_conformance.exceptions import UsageError
from oimi_conformance.shard import parse_shard

VALID = "sk-sandbox-valid"
RUN = ["--cases", "chat.*,models.*,messages.basic,messages.stream,embeddings.*,auth.chat.*",
       "--models", "sandbox-omni,sandbox-chat,sandbox-embed", "-q"]


def _verdicts(folder) -> list[tuple]:
    record = json.loads((folder / "results.json").read_text())
    return sorted((r["check_id"], r["case_id"], r["model"] or "", r["auth"], r["outcome"]) for r in record["results"])


def _ids(folder) -> set[str]:
    return set(json.loads((folder / "exchanges.json").read_text()))


def _exchanges(folder) -> set[tuple]:
    """What was asked and answered. An identical request planned by two cases is sent once per run, under
    the first case's id; in shards each shard that plans it sends it, so ids are not compared, requests are."""
    return {(e["method"], e["url"].split("//", 1)[-1].split("/", 1)[-1], e.get("request_body"), e["status"])
            for e in json.loads((folder / "exchanges.json").read_text()).values()}


def _cells(folder) -> dict:
    matrix = json.loads((folder / "matrix.json").read_text())
    return {m: {c: (cell["verdict"], cell["failing"]) for c, cell in row.items()} for m, row in matrix["cells"].items()}


@pytest.mark.parametrize("command, extra", [("run", RUN), ("matrix", ["--capabilities", "chat*,embeddings,messages",
                                                                      "--models", "sandbox-omni,sandbox-embed", "-q"])])
@pytest.mark.slow
def test_merged_shards_equal_the_unsharded_run(sandbox, tmp_path, capsys, command, extra):
    base = [command, "--base-url", sandbox.base_url, "--api-key", VALID, "--expectations", "sandbox", *extra]
    whole = tmp_path / "whole"
    main([*base, "--report-dir", str(whole)])
    shards = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    for k, folder in enumerate(shards, 1):
        main([*base, "--shard", f"{k}/3", "--report-dir", str(folder)])
    # the shards split the work: none is empty, none holds another's exchange
    parts = [_ids(f) for f in shards]
    assert all(parts) and sum(len(p) for p in parts) == len(set().union(*parts))
    merged = tmp_path / "merged"
    assert main(["merge", *map(str, reversed(shards)), "--report-dir", str(merged)]) == 0
    capsys.readouterr()
    assert _verdicts(merged) == _verdicts(whole)
    assert _exchanges(merged) == _exchanges(whole)
    assert _cells(merged) == _cells(whole)
    assert (merged / "report.html").is_file() and (merged / "matrix.md").is_file()
    counts = json.loads((merged / "results.json").read_text())["meta"]["counts"]
    assert counts == json.loads((whole / "results.json").read_text())["meta"]["counts"]


@pytest.mark.slow
def test_merge_refuses_a_missing_or_repeated_shard(sandbox, tmp_path, capsys):
    base = ["run", "--base-url", sandbox.base_url, "--api-key", VALID, "--cases", "chat.basic", "-q"]
    for k in (1, 2):
        main([*base, "--shard", f"{k}/3", "--report-dir", str(tmp_path / f"s{k}")])
    capsys.readouterr()
    assert main(["merge", str(tmp_path / "s1"), str(tmp_path / "s2"), "--report-dir", str(tmp_path / "m")]) == 2
    assert "3/3 missing" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "s1"), str(tmp_path / "s1"), "--report-dir", str(tmp_path / "m")]) == 2
    assert "given twice" in capsys.readouterr().err


def test_parse_shard():
    assert parse_shard("2/4") == (2, 4) and parse_shard(None) is None
    for bad in ("0/2", "3/2", "a/b", "2"):
        with pytest.raises(UsageError):
            parse_shard(bad)
