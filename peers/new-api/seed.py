#!/usr/bin/env python3
"""Seed a RUNNING new-api through its own admin HTTP API, for the conformance harness.

It builds nothing and starts nothing: point it at a new-api that already listens (run.sh starts one
from a binary you built yourself). Every upstream is the harness's sandbox gateway on loopback, playing
the providers. What it configures, through the same endpoints new-api's dashboard calls:

- ``POST /api/setup`` (first start only) and ``POST /api/user/login`` for the dashboard access token
  (``Authorization: Bearer <jwt>``; new-api's middleware/auth.go authHelper);
- options (``PUT /api/option/``): prices for the sandbox models, the model request rate limiter with a
  ``conformance-ratelimited`` group, no automatic channel disabling, no CPU/memory load shedding;
- channels (``POST /api/channel/``, type ids from constant/channel.go): OpenAI (1) for chat, responses,
  compact, embeddings and images; Anthropic (14) for ``claude-sandbox``; Gemini (24) for ``gemini-sandbox``;
  Jina (38) for ``sandbox-rerank``. A model lives on one channel only, because new-api picks a channel by
  model and group, never by endpoint; model metadata (``POST /api/models/``) declares their endpoints;
- tokens (``POST /api/token/``, then ``POST /api/token/{id}/key`` for the full key): a good key, a key
  limited to ``sandbox-image``, a key in the rate-limited group, and (``POST /api/user/``) a second user
  without quota whose unlimited token is the no-quota key.

The keys go to ``--out`` as JSON (mode 0600), never to stdout. Re-running is safe: what exists is kept; but
new-api allows 20 logins and key reads per 20 minutes per address (``CriticalRateLimit``), so seeding one
instance many times ends in HTTP 429. Standard library only, so any Python 3.9+ runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from typing import Any

# Channel type ids of new-api's constant/channel.go.
OPENAI, ANTHROPIC, GEMINI, JINA = 1, 14, 24, 38

# name -> (type, models, model mapping to the sandbox's own model ids)
CHANNELS: dict[str, tuple[int, list[str], dict[str, str]]] = {
    "conformance-openai": (OPENAI, ["sandbox-omni", "sandbox-chat", "sandbox-embed", "sandbox-image",
                                    "sandbox-flaky"], {}),
    "conformance-anthropic": (ANTHROPIC, ["claude-sandbox"], {"claude-sandbox": "sandbox-omni"}),
    "conformance-gemini": (GEMINI, ["gemini-sandbox"], {"gemini-sandbox": "sandbox-omni"}),
    "conformance-jina": (JINA, ["sandbox-rerank"], {}),
}
MODELS = [m for _, models, _ in CHANNELS.values() for m in models]

# Model metadata (``POST /api/models/``, model/model_meta.go Model.Endpoints): the endpoints an operator
# declares for a model. new-api adds them to what it infers from the channel type, which for an OpenAI
# channel is only "openai" (common/endpoint_type.go GetEndpointTypesByChannelType), so without them no
# model would claim Responses, compact, embeddings or images.
ENDPOINTS: dict[str, dict[str, str]] = {
    "sandbox-omni": {"openai-response": "/v1/responses", "openai-response-compact": "/v1/responses/compact"},
    "sandbox-chat": {"openai-response": "/v1/responses"},  # a claim it cannot keep, as in the sandbox
    "sandbox-embed": {"embeddings": "/v1/embeddings"},
    "sandbox-image": {"image-generation": "/v1/images/generations"},
}
RATE_LIMITED_GROUP = "conformance-ratelimited"
BROKE_USER = "conformance-broke"  # a user without quota
RESTRICTED_MODELS = ["sandbox-image"]  # as the sandbox's own restricted key: only the image model

# role -> token fields (new-api model/token.go Token)
TOKENS: dict[str, dict[str, Any]] = {
    "main": {"name": "conformance-main", "unlimited_quota": True},
    "restricted": {"name": "conformance-restricted", "unlimited_quota": True, "model_limits_enabled": True,
                   "model_limits": ",".join(RESTRICTED_MODELS)},
    # kept for the record: new-api treats an exhausted token as an unknown one (401 Invalid token)
    "exhausted_token": {"name": "conformance-noquota", "unlimited_quota": False, "remain_quota": 0},
    "rate_limited": {"name": "conformance-ratelimited", "unlimited_quota": True, "group": RATE_LIMITED_GROUP},
}


class SeedError(Exception):
    """new-api refused a seeding step; the message says which and why."""


class Admin:
    """new-api's dashboard API, as one logged-in user (root, or the quota-less user)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None
        self.user_id = 1

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
            headers["New-Api-User"] = str(self.user_id)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            raise SeedError(f"{method} {path}: HTTP {exc.code}: {raw[:300]!r}") from None
        try:
            payload = json.loads(raw)
        except ValueError:
            raise SeedError(f"{method} {path}: not JSON: {raw[:200]!r}") from None
        if isinstance(payload, dict) and payload.get("success") is False:
            raise SeedError(f"{method} {path}: {payload.get('message')!r}")
        return payload

    def wait_ready(self, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            try:
                return self.call("GET", "/api/status")["data"]
            except (SeedError, OSError):
                if time.monotonic() > deadline:
                    raise SeedError(f"{self.base}/api/status did not answer within {seconds:.0f} s") from None
                time.sleep(0.25)


def login(admin: Admin, username: str, password: str) -> None:
    data = admin.call("POST", "/api/user/login", {"username": username, "password": password})["data"]
    admin.token, admin.user_id = data["access_token"], data["user"]["id"]


def setup_and_login(admin: Admin, username: str, password: str) -> None:
    state = admin.call("GET", "/api/setup")["data"]
    if not state.get("status"):  # a fresh database: create the root user (controller/setup.go PostSetup)
        admin.call("POST", "/api/setup", {"username": username, "password": password,
                                          "confirmPassword": password, "SelfUseModeEnabled": False,
                                          "DemoSiteEnabled": False})
    login(admin, username, password)


def ensure_broke_user_key(admin: Admin, password: str) -> str:
    """A good token of a user whose own quota is 0 (QuotaForNewUser defaults to 0): the relay's quota refusal.

    A token with remain_quota 0 is no use for that: new-api's model/token.go ValidateUserToken marks it
    exhausted and TokenAuth answers 401 "Invalid token", the same as an unknown key.
    """
    users = {u["username"] for u in listed(admin, "/api/user/?p=1&page_size=100")}
    if BROKE_USER not in users:
        admin.call("POST", "/api/user/", {"username": BROKE_USER, "password": password,
                                          "display_name": BROKE_USER, "role": 1})
    broke = Admin(admin.base, admin.timeout)
    login(broke, BROKE_USER, password)
    return ensure_tokens(broke, {"no_quota": {"name": "conformance-broke-user", "unlimited_quota": True}})[
        "no_quota"]


def options(upstream_rpm_window_minutes: int) -> dict[str, str]:
    ratios = {m: 1 for m in MODELS if m != "sandbox-image"}
    return {
        # Priced, so no request fails for "model ratio not set" (new-api refuses unpriced models).
        "ModelRatio": json.dumps(ratios),
        "CompletionRatio": json.dumps({m: 1 for m in ratios}),
        "ModelPrice": json.dumps({"sandbox-image": 0.01}),
        # A failing channel must stay enabled: sandbox-flaky fails on purpose.
        "AutomaticDisableChannelEnabled": "false",
        # new-api answers 503 system_cpu_overloaded above 90 % CPU (middleware/performance.go
        # SystemPerformanceCheck); a busy test machine is not what is under test.
        "performance_setting.monitor_enabled": "false",
        # The model request rate limiter (middleware/model-rate-limit.go): counted per user, limited per
        # token group. Only the rate-limited group has a limit worth reaching.
        "ModelRequestRateLimitEnabled": "true",
        "ModelRequestRateLimitDurationMinutes": str(upstream_rpm_window_minutes),
        "ModelRequestRateLimitCount": "0",
        "ModelRequestRateLimitSuccessCount": "1000000",
        "ModelRequestRateLimitGroup": json.dumps({RATE_LIMITED_GROUP: [1, 1]}),
        # The token group must exist (GroupRatio) and be one users may pick (UserUsableGroups).
        "GroupRatio": json.dumps({"default": 1, "vip": 1, "svip": 1, RATE_LIMITED_GROUP: 1}),
        "UserUsableGroups": json.dumps({"default": "default", RATE_LIMITED_GROUP: "rate-limited (conformance)"}),
    }


def set_options(admin: Admin, values: dict[str, str]) -> None:
    for key, value in values.items():
        admin.call("PUT", "/api/option/", {"key": key, "value": value})


def listed(admin: Admin, path: str) -> list[dict[str, Any]]:
    data = admin.call("GET", path)["data"]
    return data.get("items", []) if isinstance(data, dict) else list(data or [])


def ensure_channels(admin: Admin, upstream: str, upstream_key: str) -> None:
    existing = {c["name"] for c in listed(admin, "/api/channel/?p=1&page_size=100")}
    for name, (kind, models, mapping) in CHANNELS.items():
        if name in existing:
            continue
        admin.call("POST", "/api/channel/", {"mode": "single", "channel": {
            "name": name, "type": kind, "key": upstream_key, "base_url": upstream,
            "models": ",".join(models), "group": "default," + RATE_LIMITED_GROUP,
            "model_mapping": json.dumps(mapping) if mapping else "", "auto_ban": 0, "status": 1,
        }})


def ensure_model_meta(admin: Admin) -> None:
    existing = {m["model_name"] for m in listed(admin, "/api/models/?p=1&page_size=100")}
    for name, endpoints in ENDPOINTS.items():
        if name in existing:
            continue
        admin.call("POST", "/api/models/", {"model_name": name, "name_rule": 0, "status": 1, "endpoints": json.dumps(
            {kind: {"path": path, "method": "POST"} for kind, path in endpoints.items()})})


def ensure_tokens(admin: Admin, tokens: dict[str, dict[str, Any]]) -> dict[str, str]:
    def by_name() -> dict[str, int]:
        return {t["name"]: t["id"] for t in listed(admin, "/api/token/?p=1&size=100")}

    present = by_name()
    for spec in tokens.values():
        if spec["name"] not in present:
            admin.call("POST", "/api/token/", {"expired_time": -1, "remain_quota": 0, **spec})
    present = by_name()
    keys = {}
    for role, spec in tokens.items():
        key = admin.call("POST", f"/api/token/{present[spec['name']]}/key")["data"]["key"]
        keys[role] = key if key.startswith("sk-") else "sk-" + key
    return keys


def wait_for_claims(admin: Admin, key: str, seconds: float) -> bool:
    """Wait until GET /v1/models shows supported_endpoint_types for the new channels' models.

    new-api serves them from a pricing cache that GetPricing rebuilds only when it is a minute old
    (model/pricing.go GetModelSupportEndpointTypes): right after seeding, every model claims [].
    GET /api/pricing is what rebuilds it.
    """
    deadline = time.monotonic() + seconds
    request = urllib.request.Request(admin.base + "/v1/models", headers={"Authorization": f"Bearer {key}"})
    while time.monotonic() < deadline:
        admin.call("GET", "/api/pricing")
        with urllib.request.urlopen(request, timeout=admin.timeout) as response:
            listing = json.loads(response.read())
        claims = {m["id"]: set(m.get("supported_endpoint_types") or ()) for m in listing.get("data", [])}
        if all(claims.get(m) and claims[m] >= set(ENDPOINTS.get(m, ())) for m in MODELS):
            return True
        time.sleep(2)
    return False


def warm_rate_limit(base: str, key: str) -> int:
    """One relay call on the rate-limited key, so the harness's first call on it is over the limit."""
    body = json.dumps({"model": "sandbox-omni", "messages": [{"role": "user", "content": "hi"}],
                       "max_tokens": 5}).encode()
    request = urllib.request.Request(base.rstrip("/") + "/v1/chat/completions", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True, help="the running new-api, e.g. http://127.0.0.1:3000")
    parser.add_argument("--upstream", required=True, help="the sandbox every channel calls, e.g. http://127.0.0.1:18787")
    parser.add_argument("--upstream-key", default="sk-sandbox-valid", help="the sandbox's valid key")
    parser.add_argument("--out", required=True, help="where the keys go, as JSON (mode 0600)")
    parser.add_argument("--username", default="root")
    parser.add_argument("--password", default=os.environ.get("NEW_API_ROOT_PASSWORD", ""),
                        help="root password (default $NEW_API_ROOT_PASSWORD; a fresh one is generated when "
                             "setting up a new database)")
    parser.add_argument("--rate-window-minutes", type=int, default=60)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for /api/status")
    parser.add_argument("--claims-wait", type=float, default=80.0,
                        help="seconds to wait for the models' supported_endpoint_types (new-api caches them 1 min)")
    args = parser.parse_args(argv)

    admin = Admin(args.base_url)
    try:
        status = admin.wait_ready(args.wait)
        password = args.password or secrets.token_hex(8)  # new-api: 8 to 20 characters
        setup_and_login(admin, args.username, password)
        set_options(admin, options(args.rate_window_minutes))
        ensure_channels(admin, args.upstream, args.upstream_key)
        ensure_model_meta(admin)
        keys = ensure_tokens(admin, TOKENS)
        keys["no_quota"] = ensure_broke_user_key(admin, password)
        warmed = warm_rate_limit(args.base_url, keys["rate_limited"])
        claimed = wait_for_claims(admin, keys["main"], args.claims_wait)
    except (SeedError, OSError, ValueError) as exc:
        print(f"seed.py: {exc}", file=sys.stderr)
        return 3
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"keys": keys, "username": args.username, "password": password, "models": MODELS,
                   "version": status.get("version"), "rate_limit_warmup_status": warmed,
                   "claims_ready": claimed}, out, indent=1)
    print(f"seed.py: new-api {status.get('version')} seeded: {len(CHANNELS)} channels, {len(keys)} tokens; "
          f"keys in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
