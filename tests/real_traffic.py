"""Which kind judges each exchange of ``../shared/real-traffic`` (recorded from the official APIs).

Exchanges of endpoints outside the Oimi contract (moderations, token counting, batch embeddings,
Cohere/Voyage embeddings) have no kind; ``kind_for`` says why in a string starting with ``skip:``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the checkout, as in CI; OIMI_REAL_TRAFFIC points elsewhere. The one resolver every test uses.
TRAFFIC_DIR = Path(os.environ.get("OIMI_REAL_TRAFFIC") or ROOT.parent / "shared" / "real-traffic")

SUCCESS_KINDS = {
    ("openai", "chat.completions", False): "openai.chat.completion",
    ("openai", "chat.completions", True): "openai.chat.completion.stream",
    ("openai", "responses", False): "openai.responses",
    ("openai", "responses", True): "openai.responses.stream",
    ("openai", "responses.retrieve", False): "openai.responses",
    ("openai", "responses.retrieve", True): "openai.responses.stream",
    ("openai", "embeddings", False): "openai.embeddings",
    ("openai", "images.generations", False): "openai.images",
    ("openai", "images.edits", False): "openai.images",
    ("openai", "models", False): "openai.models",
    ("openai", "models.retrieve", False): "openai.model",
    ("anthropic", "messages", False): "anthropic.messages",
    ("anthropic", "messages", True): "anthropic.messages.stream",
    ("gemini", "generateContent", False): "gemini.generate_content",
    ("gemini", "models", False): "gemini.models",
    ("cohere", "rerank", False): "rerank",
}
ERROR_KINDS = {"openai": "error.openai", "anthropic": "error.anthropic", "gemini": "error.google"}


def exchanges(folder: Path | None = None) -> list[Path]:
    return sorted((folder or TRAFFIC_DIR).glob("*.json"))


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_traffic(folder: Path | None = None) -> None:
    """Skip a test that needs the recorded corpus when it is absent on a developer's machine; in CI its absence
    is a broken setup, so the test fails instead of skipping silently."""
    folder = folder or TRAFFIC_DIR
    if exchanges(folder):
        return
    message = f"no recorded real traffic in {folder} (expected ../shared/real-traffic beside the checkout)"
    if in_ci():
        pytest.fail(f"{message}; CI=true, where it must be present")
    pytest.skip(message)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def kind_for(exchange: dict[str, Any]) -> str:
    provider, endpoint, stream = exchange["provider"], exchange["endpoint"], bool(exchange["stream"])
    if exchange["status"] >= 400:
        return ERROR_KINDS.get(provider, f"skip: {provider} errors are not part of the Oimi contract")
    if exchange["method"] == "DELETE":
        return f"skip: {endpoint} deletion is outside the Oimi contract's surface"
    if provider == "openai" and exchange["path"].split("?")[0].endswith("/responses/compact"):
        return "openai.responses.compact"
    if provider == "gemini" and endpoint == "streamGenerateContent":
        body = exchange["response_body"].lstrip()
        return "gemini.stream.json_array" if body.startswith("[") else "gemini.stream.sse"
    kind = SUCCESS_KINDS.get((provider, endpoint, stream))
    return kind or f"skip: {provider} {endpoint} is outside the Oimi contract's surface"
