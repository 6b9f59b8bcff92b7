"""Client caches are bounded and time-limited, and close what they let go of (secrets, sockets); caches of
values are bounded too, and in Redis hold only sealed values."""

from __future__ import annotations

import pytest

from tests.conftest import reachable_redis, redis_url
from validator.azure.caches import ClientCache

REDIS_URL = redis_url(15)


@pytest.fixture
def redis_client():
    client = reachable_redis(REDIS_URL)
    yield client
    for name in client.scan_iter("labgrader:cache:test-*"):
        client.delete(name)
    client.close()


class Closable:
    def __init__(self, name):
        self.name = name
        self.closed = False

    def close(self):
        self.closed = True


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_least_recently_used_entry_is_evicted_and_closed():
    cache = ClientCache(maxsize=2, ttl=3600)
    a = cache.get_or_create("a", lambda: Closable("a"))
    b = cache.get_or_create("b", lambda: Closable("b"))
    assert cache.get_or_create("a", lambda: Closable("a2")) is a  # a is now the most recent
    c = cache.get_or_create("c", lambda: Closable("c"))
    assert len(cache) == 2 and b.closed and not a.closed and not c.closed
    assert cache.get_or_create("b", lambda: Closable("b2")).name == "b2"


def test_expired_entry_is_rebuilt_and_the_old_one_closed():
    clock = Clock()
    cache = ClientCache(maxsize=10, ttl=60, clock=clock)
    old = cache.get_or_create("k", lambda: Closable("old"))
    clock.now = 59
    assert cache.get_or_create("k", lambda: Closable("new")) is old
    clock.now = 61
    new = cache.get_or_create("k", lambda: Closable("new"))
    assert new is not old and old.closed and not new.closed


def test_discard_closes_matching_entries():
    cache = ClientCache()
    x = cache.get_or_create(("tenant", "client-1"), lambda: Closable("x"))
    y = cache.get_or_create(("tenant", "client-2"), lambda: Closable("y"))
    assert cache.discard(lambda key: "client-1" in key) == 1
    assert x.closed and not y.closed and len(cache) == 1


def test_custom_vision_clients_are_per_resource_and_rebuilt_for_a_new_key():
    from checks.facts import AccountFact
    from validator import Observation
    from validator.azure.arm import ArmGateway
    from validator.azure.budget import CallCounter, Deadline
    from validator.azure.cloud import AttendeeAzure
    from validator.azure.customvision import TrainingGateway

    shared = "https://eastus.api.cognitive.microsoft.com/"  # two accounts without custom subdomains

    def gateway(runtime, subscription: str) -> TrainingGateway:
        rid = f"/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/cv"
        account = AccountFact(name="cv", kind="CustomVision.Training", sku="F0", location="eastus",
                              resource_group="rg", provisioning_state="Succeeded", endpoint=shared, resource_id=rid)
        arm = ArmGateway(runtime, AttendeeAzure(subscription_id=subscription, resource_group="rg"), Deadline(5),
                         CallCounter())
        return TrainingGateway(arm, account)

    with Observation() as runtime:
        a, b = gateway(runtime, "test-caches-a"), gateway(runtime, "test-caches-b")
        first = a._key_client(shared, "key-a", None)
        assert a._key_client(shared, "key-a", None) is first
        assert b._key_client(shared, "key-b", None) is not first
        # A regenerated key or a moved endpoint builds a new client for the same resource.
        assert a._key_client(shared, "key-a2", None) is not first
        assert a._key_client("https://cv.cognitiveservices.azure.com/", "key-a", None) is not first
        # Every entry is filed under its resource: a's three clients, b's one.
        assert runtime.training_clients.discard(lambda key: key[0] == a.resource) == 3
        assert runtime.training_clients.discard(lambda key: key[0] == b.resource) == 1


# -- caches of what rarely changes -------------------------------------------------------------------------

def test_value_cache_is_a_bounded_lru_with_a_time_limit():
    from validator.azure.caches import TTLCache

    clock = Clock()
    cache = TTLCache(ttl=60, maxsize=2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.set("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (1, None, 3, 2)
    clock.now = 61
    assert cache.get("a") is None and cache.get("c") is None


def test_sealed_values_round_trip_and_hold_no_plaintext():
    from datetime import UTC, datetime

    from cryptography.fernet import Fernet

    from checks.facts import AccountFact, PerformanceFact, ProjectFact, TagPerformance
    from validator.azure.sealed import Sealer, Unsealable

    key = Fernet.generate_key().decode()
    value = {
        "account": AccountFact("cv-secret-name", "CustomVision.Training", "F0", "eastus", "rg", "Succeeded",
                               endpoint="https://cv.cognitiveservices.azure.com/", resource_id="/subscriptions/x"),
        "project": ProjectFact("p1", "Casting", None, "d1", "Multiclass", ("ONNX",),
                               created=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        "perf": PerformanceFact(0.9, 0.8, None, (TagPerformance("Defect", 0.9, 0.8, 0.7),), 0.5, "it"),
        "key": "training-key-0123456789",
    }
    token = Sealer(key).seal(value)
    assert b"cv-secret-name" not in token and b"training-key" not in token
    assert Sealer(key).open(token) == value
    assert Sealer(f"{Fernet.generate_key().decode()},{key}").open(token) == value  # rotation: old keys decrypt
    with pytest.raises(Unsealable):
        Sealer(Fernet.generate_key().decode()).open(token)
    with pytest.raises(TypeError):
        Sealer(key).seal(Clock())  # only fact types, never arbitrary objects


def test_redis_cache_shares_sealed_values(redis_client):
    from cryptography.fernet import Fernet

    from validator.azure.caches import RedisCache
    from validator.azure.sealed import Sealer

    key = Fernet.generate_key().decode()
    one = RedisCache(redis_client, "labgrader:cache:test-shared:", ttl=30, sealer=Sealer(key))
    other = RedisCache(redis_client, "labgrader:cache:test-shared:", ttl=30, sealer=Sealer(key))
    one.set(("arm", "/subscriptions/s/accounts/cv"), "training-key-0123456789")
    assert other.get(("arm", "/subscriptions/s/accounts/cv")) == "training-key-0123456789"
    (name,) = redis_client.scan_iter("labgrader:cache:test-shared:*")
    raw = redis_client.get(name)
    assert b"training-key" not in raw and b"/subscriptions/" not in name
    assert 0 < redis_client.ttl(name) <= 30
    # Another encryption key (it was rotated away): a miss, never an error.
    stranger = RedisCache(redis_client, "labgrader:cache:test-shared:", ttl=30,
                          sealer=Sealer(Fernet.generate_key().decode()))
    assert stranger.get(("arm", "/subscriptions/s/accounts/cv")) is None
    other.delete(("arm", "/subscriptions/s/accounts/cv"))
    assert one.get(("arm", "/subscriptions/s/accounts/cv")) is None


def test_unreachable_redis_is_a_miss():
    import redis
    from cryptography.fernet import Fernet

    from validator.azure.caches import RedisCache
    from validator.azure.sealed import Sealer

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    cache = RedisCache(dead, "labgrader:cache:test-dead:", ttl=30, sealer=Sealer(Fernet.generate_key().decode()))
    cache.set("k", "v")
    assert cache.get("k") is None
    cache.delete("k")
