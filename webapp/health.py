"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: database migrated, Redis reachable)."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    from . import SchemaError, ensure_migrated
    from .extensions import db

    checks: dict[str, str] = {}
    try:
        ensure_migrated()
        checks["database"] = "ok"
    except SchemaError:
        checks["database"] = "not migrated"
    except Exception as exc:  # any driver error means "not ready"; say which kind, not the URL
        db.session.rollback()
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if current_app.config.get("REDIS_URL"):
        from .services import cache

        try:
            cache.redis_client().ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable ({type(exc).__name__})"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
