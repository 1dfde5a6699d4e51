"""The check catalogue, grouped by area. Importing an area module registers its checks."""

from __future__ import annotations

import importlib

from .registry import REGISTRY, Check, CheckContext, CheckSkipped, check, select

AREAS = ("http", "auth", "errors", "models", "chat", "responses", "messages", "gemini", "embeddings", "rerank",
         "images", "delivery", "gateway", "sdk",
         # issue 16: answers well formed but wrong
         "accounting", "increments", "parameters", "disclosure", "scoped_keys", "chaining", "urls")

__all__ = ["AREAS", "REGISTRY", "Check", "CheckContext", "CheckSkipped", "check", "load_all", "select"]


def load_all() -> None:
    for area in AREAS:
        try:
            importlib.import_module(f"{__name__}.{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{area}":
                raise
