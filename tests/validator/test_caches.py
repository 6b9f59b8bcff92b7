"""Client caches are bounded and time-limited, and close what they let go of (secrets, sockets)."""

from __future__ import annotations

from validator.azure.caches import ClientCache


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
    from validator.azure import customvision

    shared = "https://eastus.api.cognitive.microsoft.com/"  # two accounts without custom subdomains
    a = "/subscriptions/test-caches-a/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/cv"
    b = "/subscriptions/test-caches-b/resourcegroups/rg/providers/microsoft.cognitiveservices/accounts/cv"
    try:
        first = customvision._client(a, shared, "key-a", None)
        assert customvision._client(a, shared, "key-a", None) is first
        assert customvision._client(b, shared, "key-b", None) is not first
        # A regenerated key or a moved endpoint builds a new client for the same resource.
        assert customvision._client(a, shared, "key-a2", None) is not first
        assert customvision._client(a, "https://cv.cognitiveservices.azure.com/", "key-a", None) is not first
        # Every entry is filed under its resource: a's three clients, b's one.
        assert customvision._clients.discard(lambda key: key[0] == a) == 3
        assert customvision._clients.discard(lambda key: key[0] == b) == 1
    finally:
        customvision._clients.discard(lambda key: "test-caches" in key[0])
