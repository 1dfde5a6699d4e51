"""What the peer tests share: a peer's committed recording replayed offline, judged as CI judges it."""

from __future__ import annotations

from pathlib import Path

from oimi_conformance.engine import Engine
from oimi_conformance.results import RunRecord
from oimi_conformance.run_options import Options
from oimi_conformance.target import Target


def replay(cassettes: Path, profile: str | None = None) -> RunRecord:
    """The recording in ``cassettes`` replayed with --strict-expectations, network blocked; ``profile``
    None: the one the recording was judged with."""
    options = Options(record_mode="none", cassette_dir=str(cassettes), profile=profile, strict_expectations=True)
    target = Target(options)
    config = target.__enter__()
    try:
        return Engine(config).run()
    finally:
        target.__exit__()
