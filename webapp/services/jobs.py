"""Background work (re-validating an attendee's every step): ``submit(fn, *args)`` runs ``fn(*args)``
later, inside an app context, with its own database session.

Two engines, chosen by configuration:

- ``REDIS_URL`` set: the job goes to an RQ queue (:data:`QUEUE`) in that Redis, and a
  ``labgrader worker`` process (:class:`AppWorker`, which builds the app once and gives every job an app
  context) runs it. Any web instance may submit, any worker may run. ``fn`` must be importable by its
  module path (a module-level function), and its arguments must pickle: pass ids, not ORM objects.
- Otherwise: a thread pool per app (``JOB_WORKERS`` threads) in the submitting process.

A Redis outage does not refuse the work: :func:`submit` then runs the job in the thread pool, as the rate
limits fall back to memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)
_KEY = "labgrader.jobs"
QUEUE = "labgrader"
# A job re-validates at most one attendee's steps; a run longer than this is stuck, and RQ ends it.
JOB_TIMEOUT_SECONDS = 15 * 60


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = None  # the pool or queue starts on first use: most processes never need one


def uses_queue(app: Flask) -> bool:
    return bool(app.config.get("REDIS_URL"))


def _pool(app: Flask) -> ThreadPoolExecutor:
    pool = app.extensions.get(_KEY)
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=int(app.config["JOB_WORKERS"]), thread_name_prefix="labgrader-job")
        app.extensions[_KEY] = pool
    return pool


def queue():
    """This app's RQ queue, on its Redis client (``REDIS_URL`` must be set)."""
    from rq import Queue

    from .cache import redis_client

    return Queue(QUEUE, connection=redis_client(), default_timeout=JOB_TIMEOUT_SECONDS)


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` in the background inside an app context.

    Returns the RQ ``Job`` when ``REDIS_URL`` is set (a worker runs it), else, or while Redis cannot be
    reached, a ``Future`` of the in-process pool. Pass ids, not ORM objects: the job has its own database
    session.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if uses_queue(app):
        from redis.exceptions import RedisError

        try:
            job = queue().enqueue(fn, *args, **kwargs)
        except RedisError as exc:
            log.warning("Redis is unreachable (%s: %s): running background job %s in this process instead",
                        type(exc).__name__, exc, getattr(fn, "__name__", fn))
        else:
            log.info("queued background job %s (%s)", job.id, job.func_name)
            return job

    def run() -> Any:
        with app.app_context():
            try:
                return fn(*args, **kwargs)
            except Exception:
                log.exception("background job %s failed", getattr(fn, "__name__", fn))
                raise

    return _pool(app).submit(run)


def shutdown(app: Flask, wait: bool = True) -> None:
    """Stop the app's pool (tests and the CLI call this; a web worker's pool ends with the process)."""
    pool = app.extensions.get(_KEY)
    if isinstance(pool, ThreadPoolExecutor):
        pool.shutdown(wait=wait)
        app.extensions[_KEY] = None


@cache
def _worker_class():
    from rq import SimpleWorker

    class AppWorker(SimpleWorker):
        """An RQ worker that runs each job in the process (no fork per job: the app and its database
        pool are built once per worker process) inside an app context, with a fresh database session."""

        app: Flask

        def execute_job(self, job, queue):  # noqa: ANN001 - RQ's signature
            from ..extensions import db

            with self.app.app_context():
                try:
                    return super().execute_job(job, queue)
                finally:
                    db.session.remove()

    return AppWorker


def worker(app: Flask, *, name: str | None = None):
    """An :class:`AppWorker` on ``app``'s queue, with its own Redis connection (a worker blocks on the
    queue longer than the web instances' short socket timeout allows)."""
    import redis

    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    from rq import Queue

    cls = _worker_class()
    w = cls([Queue(QUEUE, connection=connection, default_timeout=JOB_TIMEOUT_SECONDS)], connection=connection,
            name=name)
    w.app = app
    return w
