"""Background work (re-validating a class): ``submit(fn, *args)`` runs ``fn`` in an app context.

The default engine is a thread pool per app (``JOB_WORKERS`` threads). The seam for a shared queue is
here: with ``REDIS_URL`` configured a queue engine (RQ) can take over ``submit`` without callers changing;
until then jobs run in-process on every backend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)
_KEY = "labgrader.jobs"


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = None  # the pool starts on first use: most processes never need one


def _pool(app: Flask) -> ThreadPoolExecutor:
    pool = app.extensions.get(_KEY)
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=int(app.config["JOB_WORKERS"]), thread_name_prefix="labgrader-job")
        app.extensions[_KEY] = pool
    return pool


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``fn(*args, **kwargs)`` in the background inside an app context; returns its Future.

    Pass ids, not ORM objects: the job has its own database session.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]

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
    if pool is not None:
        pool.shutdown(wait=wait)
        app.extensions[_KEY] = None
