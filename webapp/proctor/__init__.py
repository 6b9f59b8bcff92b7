"""The proctor pages (blueprint ``proctor``): sign in, class grid with live updates, attendee timeline,
re-validate, CSV exports, a class's automatic checks, check before class (``labgrader doctor`` per attendee)."""

from __future__ import annotations

from flask import Flask

from ..student import badges
from . import autocheck, doctor
from .views import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    badges.register(app)  # the grid shows statuses exactly as the student badges do
    app.add_template_global(doctor.doctor_for, "doctor_for")
    app.add_template_global(autocheck.auto_check_for, "auto_check_for")
