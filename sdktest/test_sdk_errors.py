"""The SDK's error mapping (client.py `_request`, CONTRACT.md §1.2) fed with our 429 bodies.

sdktest/testdata holds the bodies the API answers when a plan quota is crossed and when a
key's rate limit is hit; apiserver's Go tests (TestQuotaExceeded, TestRateLimitAcrossReplicas)
check that the live bodies keep exactly these keys and types. These tests need no server:
the SDK's own `_request` runs over an httpx.MockTransport that answers with the sample, so
they run even when PORTIERE_URL is unset.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from portiere.auth import AuthManager
from portiere.client import Client
from portiere.exceptions import PortiereError, QuotaExceededError, RateLimitError

DATA = Path(__file__).parent / "testdata"


def client_answering(status: int, body: bytes, headers: dict[str, str]) -> Client:
    auth = object.__new__(AuthManager)
    auth._api_key = "pt_sk_test"
    auth._endpoint = "http://portiere.invalid"
    # A token valid for an hour: no exchange is attempted.
    auth._jwt_token = "token"
    auth._token_expiry = datetime.now(tz=timezone.utc) + timedelta(hours=1)
    client = object.__new__(Client)
    client._api_key = "pt_sk_test"
    client._llm_config = None
    client._auth = auth
    client._http = httpx.Client(
        base_url="http://portiere.invalid/api/v1",
        transport=httpx.MockTransport(lambda request: httpx.Response(status, content=body, headers=headers)),
    )
    return client


def test_quota_exceeded_body_is_the_sdks_quota_error():
    raw = (DATA / "quota_exceeded.json").read_bytes()
    sample = json.loads(raw)
    client = client_answering(429, raw, {"Content-Type": "application/json"})
    with pytest.raises(QuotaExceededError) as exc:
        client.search_concepts("type 2 diabetes")
    assert str(exc.value) == sample["detail"]
    assert exc.value.usage_info == sample["usage"]
    assert exc.value.usage_info["meter"] == "concept_searches"
    assert exc.value.usage_info["used"] == exc.value.usage_info["limit"]
    assert isinstance(exc.value, PortiereError)


def test_rate_limited_body_is_the_sdks_rate_limit_error():
    raw = (DATA / "rate_limited.json").read_bytes()
    client = client_answering(429, raw, {"Content-Type": "application/json", "Retry-After": "3"})
    with pytest.raises(RateLimitError) as exc:
        client.get_usage()
    assert not isinstance(exc.value, QuotaExceededError)
