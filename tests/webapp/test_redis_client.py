"""The app's Redis client when Redis misbehaves: a dropped connection costs one immediate retry, no backoff."""

from __future__ import annotations

import socket
import threading

import pytest


@pytest.fixture
def hangs_up():
    """A TCP server that accepts each connection and closes it at once (Redis restarting): yields (port, count)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = [0]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted[0] += 1
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_a_dropped_connection_is_retried_once_then_a_miss(make_app, tmp_path, hangs_up):
    import redis
    from cryptography.fernet import Fernet

    from validator.azure.caches import RedisCache
    from validator.azure.sealed import Sealer
    from webapp.services.cache import redis_client

    port, accepted = hangs_up
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'lg.db'}", AUTO_MIGRATE=True,
                   REDIS_URL=f"redis://127.0.0.1:{port}/0")
    with app.app_context():
        client = redis_client()
        with pytest.raises(redis.ConnectionError):
            client.get("anything")
        assert accepted[0] == 2  # the call, then one retry on a new connection (none before the fix)
        sealer = Sealer(Fernet.generate_key().decode())
        cache = RedisCache(client, "labgrader:cache:test-hangup:", ttl=30, sealer=sealer)
        assert cache.get("k") is None  # a miss, never an error
