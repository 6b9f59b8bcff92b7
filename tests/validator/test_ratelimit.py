"""The Redis-backed rate limiter shares one budget between instances; use_redis() swaps the tier limiters."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import require
from validator.azure import customvision
from validator.azure.ratelimit import RateLimiter, RateLimitTimeout, RedisRateLimiter

REDIS_URL = "redis://127.0.0.1:6379/15"


def _reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


@pytest.fixture
def client():
    require(_reachable(), f"Redis is not reachable at {REDIS_URL}")
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    yield r
    for key in r.scan_iter("labgrader:cvrate:test-*"):
        r.delete(key)
    r.close()


def test_two_instances_share_one_budget(client):
    key = f"test-{uuid.uuid4().hex}"
    slept: list[float] = []
    a = RedisRateLimiter(client, rate=2.0, burst=2, sleep=lambda s: slept.append(s))
    b = RedisRateLimiter(client, rate=2.0, burst=2, sleep=lambda s: slept.append(s))
    assert a.acquire(key, max_wait=5) == 0
    assert b.acquire(key, max_wait=5) == 0
    # The burst of 2 is spent across both instances: a third caller on either must wait about 0.5 s.
    with pytest.raises(RateLimitTimeout):
        a.acquire(key, max_wait=0.1)
    with pytest.raises(RateLimitTimeout):
        b.acquire(key, max_wait=0.1)
    assert client.exists(f"labgrader:cvrate:{key}")
    assert 0 < client.pttl(f"labgrader:cvrate:{key}") <= 2000  # idle buckets expire on their own


def test_waits_for_the_next_slot(client):
    key = f"test-{uuid.uuid4().hex}"
    limiter = RedisRateLimiter(client, rate=10.0, burst=1)
    assert limiter.acquire(key) == 0
    waited = limiter.acquire(key, max_wait=2)
    assert 0.05 <= waited <= 0.2


def test_keys_are_per_endpoint(client):
    limiter = RedisRateLimiter(client, rate=2.0, burst=1)
    assert limiter.acquire(f"test-{uuid.uuid4().hex}") == 0
    assert limiter.acquire(f"test-{uuid.uuid4().hex}", max_wait=0) == 0


def test_unreachable_redis_lets_calls_through():
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    assert RedisRateLimiter(dead).acquire("test-dead", max_wait=0) == 0


def test_use_redis_swaps_the_tier_limiters(client):
    from checks.facts import AccountFact

    free = AccountFact(name="a", kind="CustomVision.Training", sku="F0", location="", resource_group="rg",
                       provisioning_state="Succeeded", endpoint="https://x")
    try:
        customvision.use_redis(REDIS_URL)
        assert isinstance(customvision.limiter_for(free), RedisRateLimiter)
        assert customvision.limiter_for(free).rate == 2.0
        assert customvision.limiter_for(replace_sku(free, "S0")).rate == 10.0
    finally:
        customvision.use_in_process()
    assert isinstance(customvision.limiter_for(free), RateLimiter)


def replace_sku(account, sku):
    from dataclasses import replace

    return replace(account, sku=sku)
