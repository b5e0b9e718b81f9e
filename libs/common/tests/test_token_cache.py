"""Verified tokens are remembered until they expire: same answers, less CPU per request."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from parley_common.errors import Unauthorized
from parley_common.security import (
    ALGORITHM,
    VERIFIED_TOKENS,
    VISITOR_AUDIENCE,
    TokenExpired,
    VisitorPrincipal,
    _read_key,
    _VerifiedTokens,
    issue_agent_token,
    issue_visitor_token,
    verify_agent_token,
    verify_visitor_token,
)


def test_a_verified_token_is_answered_from_the_cache(settings) -> None:
    visitor_id, account_id = uuid.uuid4(), uuid.uuid4()
    token = issue_visitor_token(visitor_id, account_id)
    first = verify_visitor_token(token)
    assert first == VisitorPrincipal(visitor_id, account_id)
    assert verify_visitor_token(token) is first  # the same object: no second decode
    # The audience is part of the key: a visitor token is still no agent token.
    with pytest.raises(Unauthorized) as caught:
        verify_agent_token(token)
    assert caught.value.code == "unauthorized"
    agent = issue_agent_token(uuid.uuid4(), account_id, "agent", uuid.uuid4())
    assert verify_agent_token(agent) is verify_agent_token(agent)


def test_a_cached_token_expires_at_its_exp(settings) -> None:
    key = _read_key(settings.jwt_private_key_file)
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "acc": str(uuid.uuid4()),
        "iss": settings.jwt_issuer,
        "aud": VISITOR_AUDIENCE,
        "iat": now,
        "exp": now + 2,
    }
    token = jwt.encode(claims, key, algorithm=ALGORITHM)
    verify_visitor_token(token)
    verify_visitor_token(token)
    time.sleep(max(0.0, now + 2 - time.time()) + 0.05)
    with pytest.raises(TokenExpired):
        verify_visitor_token(token)


def test_failures_are_not_cached(settings) -> None:
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verify_visitor_token("garbage")
    assert all(key[0] != "garbage" for key in VERIFIED_TOKENS._entries)


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = _VerifiedTokens(size=2)
    exp = time.time() + 60
    cache.put(("a",), exp, "A")
    cache.put(("b",), exp, "B")
    assert cache.get(("a",)) == "A"  # "a" is now the most recently used
    cache.put(("c",), exp, "C")
    assert cache.get(("b",)) is None
    assert (cache.get(("a",)), cache.get(("c",))) == ("A", "C")
