"""The exit codes of every ``oimi-conformance`` command, and pytest's own mapped onto them.

0: the command did its job and nothing failed; 1: a check failed (or a diff regressed), or a run judged
nothing at all (every result skipped: ``results.judged_nothing``); 2: a usage problem,
an unreachable target, or a tool the command needs is missing: one line on standard error, never a traceback.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_TOOL = EXIT_USAGE  # `report`: the Allure tool missing or failing is fixed like a usage problem, before a rerun


def from_pytest(code: int, nothing_selected: str) -> int:
    """A pytest session's exit code as the command's: 0 and 1 stand; "no tests collected" (5) says
    ``nothing_selected``; every other code (interrupted, internal or usage error) is 2."""
    if code in (EXIT_OK, EXIT_FAILED):
        return int(code)
    if code == 5:
        print(f"oimi-conformance: error: {nothing_selected}", file=sys.stderr)
    return EXIT_USAGE
