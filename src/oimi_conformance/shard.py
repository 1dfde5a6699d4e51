"""``--shard K/N``: a deterministic share of a run's exchanges, for CI systems that spread work over jobs.

A case run belongs to shard ``1 + sha256(case id, model) mod N``. A run sent only after another (a feature
probe after its endpoint's basic request, ``CaseRun.after``) goes with the run it waits for, so a chain is
never split. Every shard discovers the models itself (or reads ``--models``), so the shares of N jobs are
exactly the plan of one unsharded run; ``oimi-conformance merge`` puts their reports back together. The
official SDK checks (``--sdk``) are not split: shard 1 runs them.
"""

from __future__ import annotations

import hashlib
import re

from .exceptions import UsageError
from .plan import CaseRun

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` -> (2, 4); None stays None; anything else is a usage error."""
    if text is None or text == "":
        return None
    match = _SHARD.match(str(text))
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(f"--shard {text!r}: write K/N with 1 <= K <= N, e.g. --shard 2/4")
    return int(match.group(1)), int(match.group(2))


def shard_of(run: CaseRun, count: int) -> int:
    """The 1-based shard of ``run`` among ``count``."""
    root = run
    while root.after is not None:
        root = root.after
    digest = hashlib.sha256(f"{root.case.id}\0{root.model or ''}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def select(runs: list[CaseRun], shard: tuple[int, int] | None) -> list[CaseRun]:
    if shard is None:
        return runs
    index, count = shard
    return [r for r in runs if shard_of(r, count) == index]
