"""Small helpers that keep student-facing sentences consistent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def pct(x: float | None) -> str:
    """0.7123 -> '71.2%', 0.5 -> '50%'."""
    return "unknown" if x is None else f"{x * 100:.1f}".removesuffix(".0") + "%"


def duration(delta: timedelta) -> str:
    """A short human duration: 'less than a minute', '1 minute', '12 minutes', '1 hour 5 minutes'."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    hours, mins = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if mins or not hours:
        parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
    return " ".join(parts)


def since(start: datetime | None, now: datetime) -> str | None:
    """How long ago ``start`` was, or None when unknown (naive datetimes are taken as UTC)."""
    if start is None:
        return None
    if start.tzinfo is None and now.tzinfo is not None:
        start = start.replace(tzinfo=now.tzinfo)
    return duration(max(now - start, timedelta(0)))


def quoted(names: Iterable[str], limit: int = 5) -> str:
    """"'a', 'b' and 'c'", with "and N more" past ``limit``."""
    return joined((f"'{n}'" for n in names), limit)


def joined(phrases: Iterable[str], limit: int = 5) -> str:
    """"a, b and c", with "and N more" past ``limit``."""
    items = list(phrases)
    if len(items) > limit:
        items = items[:limit] + [f"{len(items) - limit} more"]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 image', '3 images'."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
