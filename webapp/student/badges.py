"""How a status and a StepResult look on a page: icon, words and colour class, never colour alone.

Shared by the student badge and the proctor grid so a status reads the same everywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from checks.outcome import Status


@dataclass(frozen=True)
class Look:
    status: str
    icon: str
    label: str  # words a screen reader and a colour-blind reader both get
    css: str


LOOKS = {
    Status.PASS.value: Look("PASS", "\u2714", "Passed", "lg-pass"),
    Status.FAIL.value: Look("FAIL", "\u2716", "Not yet", "lg-fail"),
    Status.PENDING.value: Look("PENDING", "\u23f3", "In progress", "lg-pending"),
    Status.ERROR.value: Look("ERROR", "\u26a0", "Could not check", "lg-error"),
}
NOT_STARTED = Look("NOT STARTED", "\u2013", "Not validated yet", "lg-none")


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


def register(app) -> None:
    """Make the helpers available to every template."""
    app.add_template_global(look, "status_look")
    app.add_template_filter(evidence_text, "evidence")
    app.add_template_filter(duration_text, "duration")
    app.add_template_filter(minutes_text, "minutes")
