"""CSV exports that a spreadsheet opens as data, never as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as text, prefixed with a quote when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def rows_to_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterable[str]:
    """The CSV text, one chunk per row (so a long export streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow([safe_cell(h) for h in header])
    yield flush()
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        yield flush()
