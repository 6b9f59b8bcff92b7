"""The class grid as the proctor page shows it: a page of rows with the current step and time on it, sorted and
filtered across the whole class by :func:`webapp.services.progress.cohort` (a fixed number of queries, no
Attempt rows)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..services.progress import CURRENT_STATUSES, ClassView, CohortProgress, GridRow, StepProgress

SORTS = {"name": "Name", "progress": "Progress (most done first)", "time": "Time on current step (longest first)"}
STATUS_FILTERS = CURRENT_STATUSES
PAGE_SIZE = 50  # rows per page: a class of thousands is read a page at a time
STUCK_SHOWN = 50  # stuck attendees listed under the grid; the "stuck only" filter pages through all of them


@dataclass(frozen=True)
class Row:
    row: GridRow
    current: StepProgress | None  # the first step (lab order) not passed; None when all passed
    seconds_on_current: int | None
    stuck: str | None  # the reason, when flagged

    @property
    def name(self) -> str:
        return self.row.display_name or self.row.external_id


@dataclass(frozen=True)
class Filters(ClassView):
    """The grid's view of a class, read from the page's query string (a page of ``PAGE_SIZE`` rows)."""

    @classmethod
    def from_args(cls, args, step_ids: tuple[str, ...] = ()) -> Filters:
        sort = args.get("sort", "name")
        status = args.get("status", "").upper()
        step = args.get("step", "")
        page = args.get("page", "1")
        return cls(
            sort=sort if sort in SORTS else "name",
            status=status if status in STATUS_FILTERS else "",
            step=step if step in step_ids else "",
            stuck=args.get("stuck") in ("1", "on", "true"),
            q=" ".join(str(args.get("q", "")).split())[:100],
            page=min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
            per_page=PAGE_SIZE,
        )

    def query(self, page: int | None = None) -> dict[str, str]:
        """The non-default values, for links that keep the current view (on ``page`` when given)."""
        out = {"sort": self.sort} if self.sort != "name" else {}
        for key in ("status", "step", "q"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.stuck:
            out["stuck"] = "1"
        page = self.page if page is None else page
        if page != 1:
            out["page"] = str(page)
        return out


def rows(grid: CohortProgress) -> list[Row]:
    """The rows of the page, in the order the service chose."""
    return list(rows_of(grid.rows))


def rows_of(grid_rows: Iterable[GridRow]) -> Iterator[Row]:
    for row in grid_rows:
        current = row.cells[row.current_step] if row.current_step else None
        yield Row(row, current, current.seconds_on_step if current else None, row.stuck)
