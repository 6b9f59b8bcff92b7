"""How a status and a StepResult look on a page: icon, words and colour class, never colour alone.

Shared by the student badge and the proctor grid so a status reads the same everywhere.

Icons are inline SVG drawn in the text colour, not emoji or symbol characters: a computer without an
emoji font (most lab machines) shows those as empty boxes. Every icon sits beside the status in words and
is hidden from screen readers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from checks.outcome import Status

from ..models import utcnow

# 16x16 strokes in currentColor, so each icon takes the ink of its status (and of forced colours).
_SHAPES = {
    "pass": '<path d="M3 8.5l3.2 3.2L13 4.8"/>',
    "fail": '<path d="M4 4l8 8M12 4l-8 8"/>',
    "pending": '<path d="M4.5 1.8h7M4.5 14.2h7M5.5 2c0 3.6 5 3.8 5 6s-5 2.4-5 6M10.5 2c0 3.6-5 3.8-5 6s5 2.4 5 6"/>',
    "error": '<path d="M8 1.8L1.2 14h13.6z"/><path d="M8 6.2v3.6M8 11.7v.4"/>',
    "none": '<path d="M4 8h8"/>',
    "wait": '<circle cx="8" cy="9" r="5.6"/><path d="M8 5.8V9l2.2 1.4M6.4 1.6h3.2"/>',
    "flag": '<path d="M3.5 14.5V2M3.5 2.5h9l-2.2 3.2 2.2 3.3h-9"/>',
}


def icon(name: str) -> Markup:
    """The inline SVG of icon ``name`` (``pass``, ``fail``, ``pending``, ``error``, ``none``, ``wait``,
    ``flag``), one line high, hidden from assistive technology; raises ``KeyError`` for an unknown name."""
    return Markup(
        '<svg class="lg-svg" viewBox="0 0 16 16" width="1em" height="1em" aria-hidden="true" focusable="false"'
        ' fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
        f"{_SHAPES[name]}</svg>"
    )


@dataclass(frozen=True)
class Look:
    status: str
    icon: Markup  # inline SVG (see ``icon``): templates print it as it is
    label: str  # words a screen reader and a colour-blind reader both get
    css: str


LOOKS = {
    Status.PASS.value: Look("PASS", icon("pass"), "Passed", "lg-pass"),
    Status.FAIL.value: Look("FAIL", icon("fail"), "Not yet", "lg-fail"),
    Status.PENDING.value: Look("PENDING", icon("pending"), "In progress", "lg-pending"),
    Status.ERROR.value: Look("ERROR", icon("error"), "Could not check", "lg-error"),
}
NOT_STARTED = Look("NOT STARTED", icon("none"), "Not validated yet", "lg-none")


def look(status: str | Status | None) -> Look:
    """The look of ``status`` (``None``: never validated)."""
    if status is None:
        return NOT_STARTED
    return LOOKS.get(str(status), NOT_STARTED)


def evidence_text(value: Any, limit: int = 300) -> str:
    """One evidence value as short text: scalars as they are, lists and objects as compact JSON."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float) or value is None:
        text = json.dumps(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def duration_text(ms: int) -> str:
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def minutes_text(seconds: int | None) -> str:
    """``"12 min"``, ``"1 h 05 min"``, ``"<1 min"``; ``""`` for ``None``."""
    if seconds is None:
        return ""
    minutes = seconds // 60
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def ago_text(seconds: float) -> str:
    """How long ago, coarsely: ``"just now"``, ``"5 min ago"``, ``"2 h ago"``, ``"3 days ago"``."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def passed_ago(cell: Any, now: datetime | None = None) -> str:
    """For a PASS that is out of date (``StepProgress.stale``), when it passed (``"passed 2 h ago"``); ``""``
    for any other step, whose verdict stands as shown. The badge, the grid and the attendee page all say it
    from these words, so an earlier PASS reads the same everywhere."""
    if not getattr(cell, "stale", False):
        return ""
    at = cell.passed_at or cell.last_attempt_at
    if at is None:
        return "passed earlier"
    return "passed " + ago_text(max(0.0, ((now or utcnow()) - at).total_seconds()))


def register(app) -> None:
    """Make the helpers available to every template."""
    app.add_template_global(look, "status_look")
    app.add_template_global(icon, "icon")
    app.add_template_global(passed_ago, "passed_ago")
    app.add_template_filter(evidence_text, "evidence")
    app.add_template_filter(duration_text, "duration")
    app.add_template_filter(minutes_text, "minutes")
