"""Rate limits are per resource (its ARM id, never its endpoint); the Redis-backed limiter shares one budget
between instances; use_redis() swaps the tier limiters."""

from __future__ import annotations

import time
import uuid

import pytest

from checks.facts import AccountFact
from tests.conftest import reachable_redis, redis_url
from validator import Observation
from validator.azure import customvision
from validator.azure.arm import ArmGateway
from validator.azure.budget import CallCounter, Deadline
from validator.azure.cloud import AttendeeAzure
from validator.azure.customvision import TrainingGateway
from validator.azure.errors import AzureCallError
from validator.azure.ratelimit import RateLimiter, RateLimitTimeout, RedisRateLimiter

REDIS_URL = redis_url(15)


@pytest.fixture
def client():
    r = reachable_redis(REDIS_URL)
    yield r
    for key in r.scan_iter("labgrader:cvrate:test-*"):
        r.delete(key)
    r.close()


def test_two_instances_share_one_budget(client):
    key = f"test-{uuid.uuid4().hex}"
    slept: list[float] = []
    a = RedisRateLimiter(client, sleep=lambda s: slept.append(s))
    b = RedisRateLimiter(client, sleep=lambda s: slept.append(s))
    assert a.acquire(key, max_wait=5) == 0
    assert b.acquire(key, max_wait=5) == 0
    # Two calls are spent across both instances: a third caller on either must wait a whole second and more.
    with pytest.raises(RateLimitTimeout):
        a.acquire(key, max_wait=0.1)
    with pytest.raises(RateLimitTimeout):
        b.acquire(key, max_wait=0.1)
    assert client.exists(f"labgrader:cvrate:{key}")
    assert 0 < client.pttl(f"labgrader:cvrate:{key}") <= 2000  # idle keys expire on their own
    assert slept == []  # the refused callers took no slot and did not sleep


def test_the_third_call_waits_for_the_first_to_leave_the_window(client):
    key = f"test-{uuid.uuid4().hex}"
    slept: list[float] = []
    limiter = RedisRateLimiter(client, sleep=slept.append)
    began, waits, ended = [], [], []
    for _ in range(4):
        began.append(time.monotonic())
        waits.append(limiter.acquire(key, max_wait=5))
        ended.append(time.monotonic())
    assert waits[:2] == [0, 0] and limiter.span == pytest.approx(1.1)
    # Slots are reserved in Redis when asked for: the third and fourth go one span after the first two, less
    # what passed since those calls (a few ms; more on a loaded machine, which no fixed tolerance would bound).
    for later, earlier in ((2, 0), (3, 1)):
        since = ended[later] - began[earlier]
        assert limiter.span - since - 0.001 <= waits[later] <= limiter.span + 0.001, (waits, since)
    assert slept == [w for w in waits if w > 0]  # the calls that had a wait slept it
    assert client.llen(f"labgrader:cvrate:{key}") == 2  # only the last two slots are kept


def test_waits_for_the_next_slot(client):
    key = f"test-{uuid.uuid4().hex}"
    asked: list[float] = []  # when the limiter began to sleep: the slot was taken just before

    def sleep(seconds: float) -> None:
        asked.append(time.monotonic())
        time.sleep(seconds)

    limiter = RedisRateLimiter(client, calls=1, window=0.1, margin=0.0, sleep=sleep)
    began = time.monotonic()
    assert limiter.acquire(key) == 0
    waited = limiter.acquire(key, max_wait=2)
    returned = time.monotonic()
    # The next slot is a window after the first call, less what passed since (a few ms, unless the machine is
    # loaded): the bound is measured rather than a fixed tolerance.
    since = (asked[0] if asked else returned) - began
    assert len(asked) == (waited > 0) and 0.1 - since - 0.001 <= waited <= 0.1 + 0.001, (waited, since)


def test_keys_are_per_resource(client):
    limiter = RedisRateLimiter(client, calls=1)
    assert limiter.acquire(f"test-{uuid.uuid4().hex}") == 0
    assert limiter.acquire(f"test-{uuid.uuid4().hex}", max_wait=0) == 0


def test_unreachable_redis_lets_calls_through():
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    assert RedisRateLimiter(dead).acquire("test-dead", max_wait=0) == 0


def test_a_runtime_with_redis_paces_through_it(client):
    free = AccountFact(name="a", kind="CustomVision.Training", sku="F0", location="", resource_group="rg",
                       provisioning_state="Succeeded", endpoint="https://x")
    with Observation(client) as shared:
        assert isinstance(shared.limiters.for_account(free), RedisRateLimiter)
        assert shared.limiters.for_account(free).calls == 2
        assert shared.limiters.for_account(replace_sku(free, "S0")).calls == 10
        assert not shared.caches.shared  # no encryption keys: never a training key in Redis
    with Observation() as alone:
        assert isinstance(alone.limiters.for_account(free), RateLimiter)


def replace_sku(account, sku):
    from dataclasses import replace

    return replace(account, sku=sku)


# -- the key is the resource, not the endpoint ------------------------------------------------------------
SHARED = "https://eastus.api.cognitive.microsoft.com/"  # no custom subdomain: the key picks the account


def training_account(subscription: str, name: str, resource_id: str | None = "arm") -> AccountFact:
    rid = (f"/subscriptions/{subscription}/resourceGroups/RG-{subscription}"
           f"/providers/Microsoft.CognitiveServices/accounts/{name}")
    return AccountFact(name=name, kind="CustomVision.Training", sku="F0", location="eastus",
                       resource_group=f"RG-{subscription}", provisioning_state="Succeeded", endpoint=SHARED,
                       resource_id=rid if resource_id == "arm" else resource_id)


def gateway(account: AccountFact, limiter) -> TrainingGateway:
    subscription = account.resource_group.removeprefix("RG-")
    arm = ArmGateway(Observation(), AttendeeAzure(subscription_id=subscription, resource_group=account.resource_group),
                     Deadline(10), CallCounter())
    return TrainingGateway(arm, account, limiter)


class Recording(RateLimiter):
    """An F0 bucket that notes which key each call took a slot from and how long it waited."""

    def __init__(self, **kw) -> None:
        super().__init__(calls=2, **kw)
        self.taken: list[tuple[str, float]] = []

    def acquire(self, key: str, max_wait: float = 10.0) -> float:
        waited = super().acquire(key, max_wait)
        self.taken.append((key, waited))
        return waited


def test_accounts_on_one_shared_endpoint_have_a_budget_each():
    slept: list[float] = []
    limiter = Recording(clock=lambda: 0.0, sleep=slept.append)  # frozen clock: a bucket never refills
    a = gateway(training_account("11111111", "CV-Casting-A"), limiter)
    b = gateway(training_account("22222222", "cv-casting-b"), limiter)
    assert a.account.endpoint == b.account.endpoint
    a._wait_slot()
    a._wait_slot()  # a's whole F0 burst
    a.arm.deadline = Deadline(0.1)
    with pytest.raises(AzureCallError, match="too many calls queued"):
        a._wait_slot()  # a third call would wait 0.5 s for a's bucket
    b._wait_slot()
    b._wait_slot()  # b still has its own burst: no wait
    assert slept == []
    assert [key for key, _ in limiter.taken] == [a.resource, a.resource, b.resource, b.resource]
    assert (a.resource, b.resource) == (a.account.resource_id.lower(), b.account.resource_id.lower())


def test_the_resource_key_is_the_arm_id_in_any_case():
    upper = training_account("11111111", "CV-A")
    lower = training_account("11111111", "cv-a", resource_id=upper.resource_id.lower())
    azure = AttendeeAzure(subscription_id="11111111", resource_group="RG-11111111")
    assert customvision.resource_key(upper, azure) == customvision.resource_key(lower, azure)
    assert customvision.resource_key(upper, azure) == upper.resource_id.lower()
    # A fact without an id (built by hand) gets the id ARM gives such an account, not its endpoint.
    bare = training_account("11111111", "CV-A", resource_id=None)
    assert customvision.resource_key(bare, azure) == upper.resource_id.lower()
