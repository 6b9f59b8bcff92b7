"""This deployment's :class:`validator.Observation`: the validator's credentials, clients, caches, F0 pace and
fetch pool. ``create_app`` builds one and hands it to every validation and doctor run of the app; a command run
outside the app (``labgrader validate``, ``labgrader doctor``) builds its own from the same configuration.

With Redis (``REDIS_URL``) every instance and command draws Custom Vision calls from one pace per resource (F0
allows 2 per second per resource, whoever asks) and shares what the validator remembers (keys sealed with
ENCRYPTION_KEY): the app through its one Redis client (:func:`.cache.redis_client`), a command through its own;
without, each process keeps its own. Importing this module does not import Flask (``validate`` starts faster).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from validator import Observation

_KEY = "labgrader.observation"


def build(config: Mapping[str, Any], redis: Any | None) -> Observation:
    """The Observation of a deployment configured by ``config``, sharing its state through ``redis`` (the client
    of config's REDIS_URL) when given."""
    from validator.runtime import Observation

    return Observation(redis, config["ENCRYPTION_KEY"])


def init_app(app: Flask) -> None:
    from .cache import redis_client

    with app.app_context():
        client = redis_client()
    app.extensions[_KEY] = build(app.config, client)


@contextmanager
def for_command() -> Iterator[Observation]:
    """The Observation of one command run outside the app, configured as the app is (``LABGRADER_*`` variables,
    the instance file), so that with REDIS_URL it keeps to the web service's F0 pace; closed, with its Redis
    client, when done."""
    from webapp import config

    from .cache import connect

    instance = config.default_instance_path()
    values = config.values(instance)
    client = None
    if values["REDIS_URL"]:
        # Only then the keys: without Redis, nothing is sealed and nothing is written to the instance folder.
        config.complete_keys(values, instance)
        client = connect(values["REDIS_URL"])
    try:
        with build(values, client) as runtime:
            yield runtime
    finally:
        if client is not None:
            client.close()


def observation() -> Observation:
    """The current app's runtime for the validator."""
    from flask import current_app

    return current_app.extensions[_KEY]


def close(app: Flask) -> None:
    """Close the app's runtime: its fetch pool, SDK clients and credentials (tests; a web worker's end with
    the process). The Redis client is the app's and stays open."""
    runtime = app.extensions.get(_KEY)
    if runtime is not None:
        runtime.close()
