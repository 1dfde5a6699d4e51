"""docs/ARCHITECTURE.md names every module of the package, so a new maintainer finds each one's job there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "oimi_conformance"
PACKAGES = ("checks/", "commands/", "fuzz/", "sandbox/", "testing/", "report_assets/")


def test_every_top_level_module_and_subpackage_is_in_the_module_map() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = doc.split("## The modules, by job", 1)[1].split("\n## ", 1)[0]
    modules = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    missing = [m for m in modules if f"`{m}`" not in section]
    missing += [d for d in PACKAGES if f"`{d}`" not in section]
    assert not missing, f"docs/ARCHITECTURE.md's module map lacks {missing}"
    named = set(re.findall(r"`([a-z_]+\.py)`", section))
    gone = sorted(n for n in named if not (PACKAGE / n).is_file())
    assert not gone, f"the module map names modules that no longer exist: {gone}"
