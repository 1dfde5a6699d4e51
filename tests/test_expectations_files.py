"""Profiles and expectations files say only what is true: every check they name exists, every expected failure
names its checks and cases precisely, and the embedded default run under --strict-expectations exits 0. The
docs say what the code does: figures in check docs come from the code's own constants."""

from __future__ import annotations

import fnmatch
import re
import sys

import pytest

from oimi_conformance.capabilities import VERDICT_MEANINGS, verdict_of
from oimi_conformance.cases import load_cases
from oimi_conformance.checks import select
from oimi_conformance.cli import main
from oimi_conformance.profile import Profile, load_expectations
from oimi_conformance.specdir import spec_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

AREAS = sorted({c.area for c in select()})
# a check id in prose: an area, a dot, and a name not followed by a word character (TOML keys such as
# models.check_claims or errors.unknown_model are not check ids)
CHECK_NAME = re.compile(r"\b(?:" + "|".join(AREAS) + r")\.[a-z0-9][a-z0-9.-]*[a-z0-9](?![\w])")
TOML_FILES = sorted([*(spec_root() / "profiles").glob("*.toml"), *(spec_root() / "expectations").glob("*.toml")])


def named_checks(text: str) -> set[str]:
    # a reference URL's fragment (#method:-models.generatecontent) and a glob (errors.gemini.*) name no check
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"[\w.-]+\.\*", " ", text)
    return set(CHECK_NAME.findall(text))


def test_the_check_name_finder_finds_what_a_file_would_name():
    text = '# `errors.unknown-model` reports 503; models.check_claims = true; see http.expected-status.'
    assert named_checks(text) == {"errors.unknown-model", "http.expected-status"}


@pytest.mark.parametrize("path", TOML_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_files_name_only_checks_that_exist(path):
    """In comments and values alike, a dotted name is a check id or a case id (the two share the areas)."""
    from oimi_conformance.sdk import SDKS

    known = {c.id for c in select()} | {c.id for c in load_cases()} | {f"sdk.{name}" for name in SDKS}
    # a cited source file (new-api's dto/gemini.go) is not a check id
    unknown = sorted(n for n in named_checks(path.read_text(encoding="utf-8")) - known if not n.endswith(".go"))
    assert unknown == [], f"{path.name} names checks (or cases) that do not exist: {unknown}"


@pytest.mark.parametrize("path", sorted((spec_root() / "expectations").glob("*.toml")), ids=lambda p: p.name)
def test_expected_failures_name_their_checks_precisely(path):
    known = [c.id for c in select()]
    from oimi_conformance.sdk import SDKS

    case_ids = [c.id for c in load_cases()] + [f"sdk.{name}" for name in SDKS]  # an SDK's results: case sdk.<sdk>
    for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("expected_failure", []):
        checks = entry["check"] if isinstance(entry["check"], list) else [entry["check"]]
        for pattern in checks:
            matched = [c for c in known if fnmatch.fnmatchcase(c, pattern)]
            assert matched, f"{path.name}: check {pattern!r} matches no check"
            assert len(matched) < len(known) / 4, f"{path.name}: check {pattern!r} is wider than any reason"
        cases = entry.get("case", "*")
        for pattern in cases if isinstance(cases, list) else [cases]:
            assert any(fnmatch.fnmatchcase(c, pattern) for c in case_ids), f"{path.name}: case {pattern!r} matches none"
        assert entry.get("case", "*") != "*" or entry.get("model", "*") != "*", \
            f"{path.name}: an entry for every case of every model: {entry['reason'][:80]}"


def test_sandbox_expectations_have_no_wildcard_check():
    for item in load_expectations("sandbox").items:
        checks = (item.check,) if isinstance(item.check, str) else item.check
        assert "*" not in "".join(checks), f"sandbox.toml: {checks} for {item.reason[:80]}"


@pytest.mark.slow
def test_strict_expectations_on_the_embedded_default_exits_0(tmp_path, capsys):
    code = main(["run", "--strict-expectations", "--report-dir", str(tmp_path), "-q"])
    out = capsys.readouterr().out
    assert "expected failure now passes" not in out
    assert code == 0


# -- docs from the code's constants ----------------------------------------------------------------

def test_check_docs_state_the_figures_the_code_uses():
    from oimi_conformance.checks import delivery, embeddings

    docs = {c.id: c.doc for c in select()}
    assert f"relative {embeddings.REL_TOL:g}" in docs["embeddings.base64-decodes"]
    assert f"absolute {embeddings.ABS_TOL:g}" in docs["embeddings.base64-decodes"]
    assert f"{Profile.first_event_s:g} s" in docs["delivery.first-event"]
    assert f"{delivery.MIN_SPREAD * 1000:g} ms" in docs["delivery.incremental"]
    assert not [i for i, d in docs.items() if re.search(r"\{(tolerance|first_event_s:g|spread:g)\}", d)], \
        "a placeholder was left unfilled"


def test_capability_verdicts_do_what_their_meanings_say():
    from oimi_conformance import capabilities

    def row(outcome: str, message: str = "") -> dict:
        return {"outcome": outcome, "check_id": "chat.usage-arithmetic", "case_id": "chat.basic", "message": message}

    assert verdict_of([row("passed"), row("xfailed")])["verdict"] == "broken"
    assert "known deviation" in VERDICT_MEANINGS["broken"]
    assert verdict_of([row("skipped", "unsupported by model m: HTTP 400")])["verdict"] == "unsupported"
    assert verdict_of([row("passed")])["verdict"] == "supported"
    assert verdict_of([row("skipped", "request budget exhausted")])["verdict"] == "not probed"
    for verdict, meaning in VERDICT_MEANINGS.items():
        assert f"{verdict:<12} {meaning}" in (capabilities.__doc__ or "")
