"""The student pages (blueprint ``student``): launch link, guide, Validate badges, history, reveal."""

from __future__ import annotations

from flask import Flask

from . import badges, findings
from .views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    badges.register(app)
    findings.register(app)
