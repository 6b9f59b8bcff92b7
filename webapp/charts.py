"""Server-rendered SVG charts (no JavaScript, no CDN): the per-step completion funnel.

Every chart is an accessible image: ``role="img"`` with a ``<title>`` and a ``<desc>`` that says in words
what the bars show, so a screen reader gets the numbers, not just "image".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class FunnelStep:
    label: str  # "Task 3.1"
    passed: int
    started: int


BAR_H, GAP, LABEL_W, BAR_W, TEXT_W = 22, 8, 80, 300, 150


def funnel_svg(steps: Sequence[FunnelStep], total: int, *, chart_id: str = "lg-funnel",
               title: str = "Completion funnel") -> str:
    """Horizontal bars, one per step in lab order: attendees who passed it (dark) and who started it
    without passing yet (light), out of ``total`` attendees."""
    total = max(total, 0)
    height = len(steps) * (BAR_H + GAP) + GAP
    width = LABEL_W + BAR_W + TEXT_W
    words = "; ".join(f"{s.label}: {s.passed} of {total} passed, {max(s.started - s.passed, 0)} working on it"
                      for s in steps)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lg-funnel" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(words or "No steps.")} ({total} attendees in all.)</desc>',
    ]
    for i, step in enumerate(steps):
        y = GAP + i * (BAR_H + GAP)
        passed_w = round(BAR_W * step.passed / total) if total else 0
        started_w = round(BAR_W * max(step.started, step.passed) / total) if total else 0
        parts += [
            f'<text x="0" y="{y + BAR_H - 6}" font-size="13" fill="#1b1b1b">{escape(step.label)}</text>',
            f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W}" height="{BAR_H}" fill="#f1f3f5" stroke="#c8ccd0"/>',
            f'<rect x="{LABEL_W}" y="{y}" width="{started_w}" height="{BAR_H}" fill="#9fc3e8" '
            f'data-started="{step.started}"/>',
            f'<rect x="{LABEL_W}" y="{y}" width="{passed_w}" height="{BAR_H}" fill="#0a4f99" '
            f'data-passed="{step.passed}"/>',
            f'<text x="{LABEL_W + BAR_W + 8}" y="{y + BAR_H - 6}" font-size="13" fill="#1b1b1b">'
            f"{step.passed}/{total} passed</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)
