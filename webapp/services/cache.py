"""Shared state across web instances: a Redis client when ``REDIS_URL`` is configured.

Caches use Redis when it is there and in-process equivalents when not; rate limits are Flask-Limiter's
(``webapp.security``), which stores its counts in the same Redis.
"""

from __future__ import annotations

from typing import Any

_KEY = "labgrader.redis"


def redis_client() -> Any | None:
    """The app's Redis client (created on first use), or ``None`` without ``REDIS_URL``."""
    from flask import current_app  # imported by the app already; `labgrader validate` uses connect() alone

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get(_KEY)
    if client is None:
        client = current_app.extensions[_KEY] = connect(url)
    return client


def connect(url: str) -> Any:
    """A Redis client for ``url`` as labgrader uses one (the app's, or a command's outside the app)."""
    try:
        import redis
    except ImportError as exc:
        raise RuntimeError("LABGRADER_REDIS_URL is set but the redis package is missing: "
                           "pip install 'labgrader[redis]'") from exc
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # One immediate retry: a pooled connection Redis dropped (a restart, a failover) is replaced at once
    # instead of failing that call; never a backoff, so with Redis down a cache read is a miss and the pace
    # falls back within the connect timeout instead of holding a student's press for seconds.
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 1))
