"""LiteLLM custom auth for the conformance run: one key is valid, every other key gets 401.

LiteLLM without a database accepts any key unless a master key is set, and a master key without a
database answers some wrong keys with errors other than 401. This hook makes the proxy behave like a
gateway with exactly one issued key: the one in $LITELLM_CONFORMANCE_KEY.
"""

from __future__ import annotations

import os

from fastapi import Request
from litellm.proxy._types import ProxyErrorTypes, ProxyException, UserAPIKeyAuth


async def user_api_key_auth(request: Request, api_key: str) -> UserAPIKeyAuth:
    expected = os.environ.get("LITELLM_CONFORMANCE_KEY", "")
    if expected and api_key == expected:
        return UserAPIKeyAuth(api_key=api_key, user_id="conformance")
    raise ProxyException(message="Authentication Error: invalid API key", type=ProxyErrorTypes.auth_error,
                         param="api_key", code=401)
