"""The observation layer's state between validations, in one object the app or a command builds and passes in.

An :class:`Observation` holds what makes a warm validation cheap and what keeps a class within Azure's limits:
the credentials (and so their tokens), the SDK clients, the per-resource pace of Custom Vision calls, the
caches of what rarely changes (keys, domains, remembered discovery, trained iterations' performance) and the
pool facts are fetched on; with Redis configured, the app's one Redis client shares the pace and the caches
between instances. Nothing of it lives in module globals: the web app builds one in its factory, each
command its own, and a test a fresh one. :meth:`Observation.close` closes the pool, the clients, the
credentials (their secrets) and the connections.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .azure.caches import ClientCache, ValueCaches
from .azure.connections import Connections
from .azure.identity import Credentials
from .azure.ratelimit import TierLimiters
from .azure.tokens import TokenCalls

# Bounded, closed on eviction: each client holds a connection pool and a key or (through its credential) a
# secret; a class of thousands must not keep all of them alive.
CLIENTS = {"maxsize": 512, "ttl": 3600}
# Enough for the independent facts of a whole lab at once. Only leaf fetches are submitted (never a task that
# waits on another task), so a bounded pool cannot deadlock; it only queues under load.
FETCH_WORKERS = 8


class Observation:
    """What the validator keeps between validations; pass it to ``validate(..., runtime=...)``.

    ``redis`` (a ``redis.Redis`` client, the app's one): share the F0 pace (and, given ``encryption_keys``,
    the caches, sealed with them) with every instance; without, everything stays in this process. Use it as
    a context manager, or call :meth:`close` when done.
    """

    def __init__(self, redis=None, encryption_keys: str | None = None, fetch_workers: int = FETCH_WORKERS) -> None:
        self.redis = redis
        self.token_calls = TokenCalls()
        # One connection pool per host for every attendee's credential and clients (built before them).
        self.connections = Connections()
        self.credentials = Credentials(self.token_calls, self.connections, **CLIENTS)
        self.arm_clients = ClientCache(**CLIENTS)
        self.resource_clients = ClientCache(**CLIENTS)
        self.training_clients = ClientCache(**CLIENTS)
        self.limiters = TierLimiters.shared(self.redis) if self.redis is not None else TierLimiters.in_process()
        self.caches = ValueCaches(self.redis, encryption_keys)
        # One long-lived pool: msrest keeps a requests.Session per thread, so reused threads reuse their TLS
        # connections.
        self.pool = ThreadPoolExecutor(max_workers=fetch_workers, thread_name_prefix="labgrader-fetch")

    def close(self) -> None:
        """Wait for running fetches, then close the clients and the credentials (the Redis client is its
        owner's to close)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        for clients in (self.training_clients, self.resource_clients, self.arm_clients):
            clients.clear()
        self.credentials.close()
        self.connections.close()

    def __enter__(self) -> Observation:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
