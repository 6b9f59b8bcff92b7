"""This app's :class:`validator.Observation`: the validator's credentials, clients, caches, F0 pace and fetch
pool, built once by ``create_app`` and handed to every validation and doctor run of the app.

With Redis (``REDIS_URL``) every instance draws Custom Vision calls from one pace per resource (F0 allows 2
per second per resource, whichever instance asks) and shares what the validator remembers (keys sealed with
ENCRYPTION_KEY), through the app's one Redis client (:func:`.cache.redis_client`); without, each process
keeps its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

if TYPE_CHECKING:
    from validator import Observation

_KEY = "labgrader.observation"


def init_app(app: Flask) -> None:
    from validator.runtime import Observation

    from .cache import redis_client

    with app.app_context():
        client = redis_client()
    app.extensions[_KEY] = Observation(client, app.config["ENCRYPTION_KEY"])


def observation() -> Observation:
    """The current app's runtime for the validator."""
    return current_app.extensions[_KEY]


def close(app: Flask) -> None:
    """Close the app's runtime: its fetch pool, SDK clients and credentials (tests; a web worker's end with
    the process). The Redis client is the app's and stays open."""
    runtime = app.extensions.get(_KEY)
    if runtime is not None:
        runtime.close()
