"""The sandbox gateway: a faithful, deterministic local implementation of the Oimi API contract.

It is the harness's embedded default target, a local stand-in for app developers, and the target of
the harness's self-tests, which switch on named deviations (``DEVIATIONS``) to prove each check
catches its class of fault.

    with start_sandbox(SandboxConfig(deviations={"chat.stream.no-done"})) as sandbox:
        httpx.post(f"{sandbox.base_url}/v1/chat/completions", ...)
"""

from __future__ import annotations

from .app import build_app
from .catalog import CAPABILITIES, DEFAULT_MODELS, ENDPOINT_TYPES, ModelSpec, build_catalog
from .deviations import DEVIATION_NAMES, DEVIATIONS, Deviation
from .keys import KEYS, VALID_KEY, KeySpec
from .server import RunningSandbox, SandboxConfig, serve_forever, start_sandbox

__all__ = [
    "CAPABILITIES",
    "DEFAULT_MODELS",
    "DEVIATIONS",
    "DEVIATION_NAMES",
    "ENDPOINT_TYPES",
    "KEYS",
    "VALID_KEY",
    "Deviation",
    "KeySpec",
    "ModelSpec",
    "RunningSandbox",
    "SandboxConfig",
    "build_app",
    "build_catalog",
    "serve_forever",
    "start_sandbox",
]
