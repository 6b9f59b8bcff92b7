"""The demo's practice panel (blueprint ``practice``): the demo student performs the next lab task in
azuresim, correctly or with a chosen mistake, then presses Validate to watch the badge change.

Only in demo mode (``DEMO``); every route is a 404 otherwise.
"""

from __future__ import annotations

from flask import Flask

from .views import bp, in_guide, panel

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    # The guide page includes practice/panel.html, which reads its model from this global.
    app.add_template_global(panel, "practice_panel")
    app.add_template_global(in_guide, "practice_in_guide")  # a box per task beside its Validate button
