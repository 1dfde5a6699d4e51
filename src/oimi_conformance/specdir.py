"""Where the spec data lives, and loading it.

An installed wheel carries the specs as ``oimi_conformance/_specs``; a source checkout
(editable install) reads the top-level ``specs/`` folder, so edits there take effect at once.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

_PACKAGE_DIR = Path(__file__).resolve().parent
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def spec_root() -> Path:
    for candidate in (_PACKAGE_DIR.parents[1] / "specs", _PACKAGE_DIR / "_specs"):
        if (candidate / "kinds.yaml").is_file():
            return candidate
    raise FileNotFoundError("oimi-conformance: the specs folder is missing from this installation")


def load_data(relative: str) -> Any:
    """Load a JSON or YAML file below the spec root."""
    path = spec_root() / relative
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    # libyaml's loader when built in: the same documents, about 8x faster (the cases and openapi.yaml are read
    # before a run sends anything)
    return yaml.load(text, Loader=_SAFE_LOADER)  # a safe loader, C or pure Python
