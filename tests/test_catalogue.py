"""The check catalogue and its generated documentation."""

from __future__ import annotations

import re

from oimi_conformance.checks import REGISTRY, check, select
from oimi_conformance.cli import main
from oimi_conformance.docs import checks_markdown
from oimi_conformance.specdir import spec_root

ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$")


def test_ids_titles_severities_and_specs():
    checks = select()
    assert len(checks) >= 60
    for c in checks:
        assert ID.match(c.id), c.id
        assert c.title and c.spec and c.severity in ("error", "warning"), c.id
        assert c.doc, f"{c.id} has no docstring saying what it judges"


def test_every_check_applies_to_some_case():
    from oimi_conformance.cases import load_cases

    cases = load_cases()
    # SDK checks (area sdk) make their own calls with the official SDKs: no case applies to them
    idle = [c.id for c in select() if c.area != "sdk" and not any(c.applies(case) for case in cases)]
    assert idle == [], f"checks no case gives anything to judge: {idle}"


def test_registering_an_id_twice_from_another_module_fails():
    select()
    existing = next(iter(REGISTRY.values()))

    def impostor(ctx):
        """."""

    try:
        check(existing.id, "x", spec="x", applies=lambda case: False)(impostor)
    except RuntimeError as exc:
        assert "registered twice" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("a duplicate id was accepted")
    assert REGISTRY[existing.id] is existing


def test_docs_checks_md_is_generated_and_current():
    committed = (spec_root().parent / "docs" / "checks.md").read_text(encoding="utf-8")
    assert committed == checks_markdown(), "regenerate: oimi-conformance checks --markdown -o docs/checks.md"


def test_checks_command_lists_every_id(capsys):
    assert main(["checks"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines()}
    assert listed == {c.id for c in select()}


def test_sandbox_lists_its_deviations(capsys):
    assert main(["sandbox", "--list-deviations"]) == 0
    assert "chat.stream.no-done" in capsys.readouterr().out
