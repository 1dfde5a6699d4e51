"""A started target: the user's base URL, a recording to replay, or the embedded sandbox on a loopback
port; with the keys, profile, expectations and headers it brings, as one ``engine.RunConfig``."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import RunConfig
from .exceptions import UsageError
from .headers import collect as collect_headers
from .profile import load_expectations, load_profile
from .run_options import MODELS_THRESHOLD, Options, check_options
from .shard import parse_shard

REPLAY_URL = "http://replay.invalid"  # never contacted: replay blocks the network
SANDBOX_KEYS = {"main": "sk-sandbox-valid", "no-quota": "sk-sandbox-noquota",
                "rate-limited": "sk-sandbox-ratelimited", "restricted": "sk-sandbox-restricted"}


@dataclass
class Source:
    """Where a run's answers come from, and what that source brings: its URL, keys, name, models, and the
    profile and expectations to judge with when the options name none."""

    base_url: str
    keys: dict[str, str]
    target: str
    models: list[str] | None
    profile: str | None
    expectations: str | None
    profile_defaults: bool  # apply the profile's own expectations when none is named
    own_defaults: tuple[str, ...] = ()  # expectations applied when none is named, after the profile's own
    recorded: dict[str, Any] = field(default_factory=dict)  # a replay's _run.json


class Target:
    """A started target: the user's base URL, or a sandbox started on a free loopback port."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.sandbox: Any = None

    def __enter__(self) -> RunConfig:
        opts = self.options
        check_options(opts)  # before anything is started or sent
        if opts.record_mode == "none" or (opts.record_mode == "once" and _has_cassettes(opts)):
            source = _replay_source(opts)
        elif opts.base_url:
            source = _url_source(opts, opts.base_url)
        else:
            source = self._sandbox_source(opts)
        keys = {**source.keys, **{k: v for k, v in opts.extra_keys.items() if v}}
        cassette_dir = Path(opts.cassette_dir) if opts.cassette_dir else Path("cassettes") / source.target
        loaded = load_profile(source.profile or "oimi")
        expectations = source.expectations
        if not expectations:  # the defaults: the profile's own, then the target's
            expectations = ",".join((*(loaded.expectations if source.profile_defaults else ()),
                                     *source.own_defaults)) or None
        # a replay sends what the recording sent (secret values as REDACTED, as the cassettes hold them)
        headers = collect_headers({**loaded.headers, **source.recorded.get("headers", {})}, opts.headers,
                                  [*source.recorded.get("secret_headers", []), *opts.secret_headers])
        return RunConfig(base_url=source.base_url, keys=keys, profile=loaded, headers=headers,
                         expectations=load_expectations(expectations), models=source.models,
                         concurrency=opts.concurrency, timeout=opts.timeout, max_requests=opts.max_requests,
                         checks=opts.checks, exclude_checks=opts.exclude_checks, cases=opts.cases,
                         target=source.target, record_mode=opts.record_mode,
                         cassette_dir=cassette_dir if opts.record_mode else None,
                         dry_run=opts.dry_run, strict_expectations=opts.strict_expectations,
                         shard=parse_shard(opts.shard),
                         max_models=opts.max_models, max_duration=opts.max_duration,
                         models_threshold=MODELS_THRESHOLD, follow_urls=not opts.no_follow_urls)

    def _sandbox_source(self, opts: Options) -> Source:
        """No base URL: the embedded sandbox, started on a free loopback port, with its four keys."""
        from .sandbox.server import SandboxConfig, start_sandbox

        self.sandbox = start_sandbox(SandboxConfig(deviations=frozenset(opts.sandbox_deviations),
                                                   mode=opts.sandbox_mode))
        # default expectations: its known deviations ("sandbox"), and in new-api mode the profile's (new-api's) too
        return Source(self.sandbox.base_url, dict(SANDBOX_KEYS), opts.target or "sandbox", opts.models,
                      opts.profile, opts.expectations, profile_defaults=opts.sandbox_mode == "new-api",
                      own_defaults=("sandbox",))

    def __exit__(self, *exc: object) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


def _replay_source(opts: Options) -> Source:
    """A replay: no target, no key; what the recording knew comes from its _run.json, and it is judged with
    what the recording was judged with (no defaults of its own)."""
    recorded = _recorded_run(opts)
    return Source(recorded.get("base_url") or REPLAY_URL,
                  {role: f"replay-placeholder-{role}" for role in recorded.get("key_roles", ["main"])},
                  opts.target or recorded.get("target") or "replay", opts.models or recorded.get("models"),
                  opts.profile or recorded.get("profile"), opts.expectations or recorded.get("expectations"),
                  profile_defaults=False, recorded=recorded)


def _url_source(opts: Options, base_url: str) -> Source:
    """The user's gateway and key; by default judged with the profile's own expectations (under oimi,
    new-api's known and cited deviations)."""
    key = opts.api_key or os.environ.get("OIMI_API_KEY")
    if not key:
        raise UsageError("no API key: pass --api-key or set OIMI_API_KEY")
    return Source(base_url, {"main": key}, opts.target or "target", opts.models, opts.profile,
                  opts.expectations, profile_defaults=True)


def _cassette_root(opts: Options) -> Path:
    return Path(opts.cassette_dir) if opts.cassette_dir else Path("cassettes") / (opts.target or "sandbox")


def _has_cassettes(opts: Options) -> bool:
    root = _cassette_root(opts)
    return root.is_dir() and any(root.rglob("*.yaml"))


def _recorded_run(opts: Options) -> dict[str, Any]:
    """The recording's ``_run.json``, checked: a tampered or broken one is one line, never trusted."""
    root = _cassette_root(opts)
    if not root.is_dir():
        raise UsageError(f"no cassettes at {root}: record them first with `oimi-conformance run --record`")
    meta = root / "_run.json"
    if not meta.is_file():
        return {}
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise UsageError(f"cannot read {meta}: not a JSON object ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"cannot read {meta}: not a JSON object")
    for name in ("base_url", "target", "profile", "expectations"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise UsageError(f"{meta}: `{name}` must be a string")
    for name in ("models", "key_roles"):
        value = data.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
            raise UsageError(f"{meta}: `{name}` must be a list of strings")
    for name in ("profile", "expectations"):
        if data.get(name) and not getattr(opts, name):  # an option given on the command line wins
            # expectations may be several files, joined by commas: each is confined on its own
            parts = data[name].split(",") if name == "expectations" else [data[name]]
            data[name] = ",".join(_confined(root, meta, name, part.strip()) for part in parts)
    return data


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _confined(root: Path, meta: Path, what: str, value: str) -> str:
    """A profile or expectations named by a recording: a bare name (``specs/<what>s/``), or a ``.toml``
    inside the cassette folder. Never any other file on disk: cassettes come from other people."""
    if _NAME.fullmatch(value):
        return value
    path = (root / value).resolve()
    if path.suffix != ".toml" or not path.is_relative_to(root.resolve()) or not path.is_file():
        raise UsageError(f"{meta}: `{what}` {value[:80]!r} is neither a name nor a .toml file inside {root}; "
                         f"refused (pass --{what} to choose one)")
    return str(path)
