"""Shared state across web instances: a Redis client when ``REDIS_URL`` is configured.

Caches use Redis when it is there and in-process equivalents when not; rate limits are Flask-Limiter's
(``webapp.security``), which stores its counts in the same Redis.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

_KEY = "labgrader.redis"


def redis_client() -> Any | None:
    """The app's Redis client (created on first use), or ``None`` without ``REDIS_URL``."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get(_KEY)
    if client is None:
        try:
            import redis
        except ImportError as exc:
            raise RuntimeError("LABGRADER_REDIS_URL is set but the redis package is missing: "
                               "pip install 'labgrader[redis]'") from exc
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        current_app.extensions[_KEY] = client
    return client
