"""Issue 11, tampered or broken cassettes: loaded safely and within limits; a broken one is one line, exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oimi_conformance.cassette_yaml import CassetteError, load_interactions
from oimi_conformance.cassettes import cassette_path
from oimi_conformance.cli import main

SANDBOX = Path(__file__).resolve().parents[1] / "cassettes" / "sandbox"
LAUGHS = "".join(f"{a}: &{a} [{', '.join([f'*{p}'] * 9)}]\n" for p, a in zip("abcdefgh", "bcdefghi", strict=True))
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + LAUGHS


@pytest.fixture
def copy(tmp_path):
    root = tmp_path / "cassettes"
    shutil.copytree(SANDBOX, root)
    return root


def _replay(root: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    code = main(["run", "--replay", str(root), "--report-dir", str(tmp_path / "report"), "-q",
                 "--cases", "chat.basic"])
    err = capsys.readouterr().err
    return code, err


BROKEN = {
    "syntax": "interactions: [ {\n",
    "status": None,  # the real cassette with a non-numeric status
    "missing-fields": "interactions:\n- request: {}\n  response: {}\nversion: 1\n",
    "list-body": "interactions:\n- request: {method: GET, uri: 'http://h/'}\n  response: {status: {code: 200}, "
                 "body: [1, 2]}\nversion: 1\n",
    "billion-laughs": BILLION_LAUGHS,
    "code-execution": "interactions: !!python/object/apply:os.system ['touch {marker}']\n",
    "deep": "a: " + "[" * 500 + "]" * 500 + "\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_or_tampered_cassette_is_one_line_and_exit_2(copy, tmp_path, capsys, name):
    target = copy / "chat.basic" / "sandbox-chat.yaml"
    marker = tmp_path / "PWNED"
    if BROKEN[name] is None:
        target.write_text(target.read_text().replace("code: 200", "code: abc"))
    else:
        target.write_text(BROKEN[name].replace("{marker}", str(marker)))
    code, err = _replay(copy, tmp_path, capsys)
    assert code == 2
    assert err.startswith("oimi-conformance: error: cannot read cassette") and err.count("\n") == 1, err
    assert "Traceback" not in err and not marker.exists()


def test_the_loader_builds_no_python_object_whatever_vcrpy_does(tmp_path):
    path = tmp_path / "c.yaml"
    for tag in ("!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!python/object/new:dict {}"):
        path.write_text(f"interactions: {tag}\n")
        with pytest.raises(CassetteError):
            load_interactions(path)


def test_billion_laughs_is_refused_before_it_expands(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(BILLION_LAUGHS)
    assert path.stat().st_size < 1000
    with pytest.raises(CassetteError, match="alias bomb"):
        load_interactions(path)


def test_an_oversized_cassette_is_refused_without_reading_it(tmp_path, monkeypatch):
    from oimi_conformance import cassette_yaml

    monkeypatch.setattr(cassette_yaml, "MAX_CASSETTE_BYTES", 100)
    path = tmp_path / "c.yaml"
    path.write_text("interactions: []\n" + "#" * 200 + "\n")
    with pytest.raises(CassetteError, match="over the limit"):
        load_interactions(path)


@pytest.mark.parametrize("meta, message", [
    ("{nope", "cannot read"),
    ('["a list"]', "not a JSON object"),
    ('{"profile": "/etc/passwd.toml"}', "refused"),
    ('{"expectations": "../../elsewhere.toml"}', "refused"),
    ('{"models": "abc"}', "list of strings"),
    ('{"key_roles": [1]}', "list of strings"),
])
def test_a_broken_or_tampered_run_json_is_one_line(copy, tmp_path, capsys, meta, message):
    (copy / "_run.json").write_text(meta)
    code, err = _replay(copy, tmp_path, capsys)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert "--request" not in err


def test_a_profile_inside_the_cassette_folder_is_accepted(copy, tmp_path, capsys):
    shutil.copy(SANDBOX.parents[1] / "specs" / "profiles" / "oimi.toml", copy / "mine.toml")
    meta = json.loads((copy / "_run.json").read_text())
    (copy / "_run.json").write_text(json.dumps({**meta, "profile": "mine.toml"}))
    code, err = _replay(copy, tmp_path, capsys)
    assert code == 0, err


@pytest.mark.parametrize("model", ["", "-", "_", "a" * 300, "x/../../etc", "ü" * 200, "\ud800", ".hidden",
                                   "con", "a\nb", "A" * 101])
def test_cassette_file_names_are_safe_bounded_and_distinct(tmp_path, model):
    path = cassette_path(tmp_path, f"chat.basic/{model}/main")
    assert path.parent == tmp_path / "chat.basic"
    assert len(path.name.encode()) <= 100 and "/" not in path.name and not path.name.startswith(".")
    others = {cassette_path(tmp_path, f"chat.basic/{m}/main") for m in ["", "-", "_", "a" * 299, "b", "-x"]
              if m != model}
    assert path not in others
    assert cassette_path(tmp_path, "models.list/-/main").name == "_.yaml"
