"""The Flask service: student guide, proctor dashboard, platform API."""

from __future__ import annotations

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory; no configuration is read at import time."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY="dev")
    if test_config:
        app.config.from_mapping(test_config)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
