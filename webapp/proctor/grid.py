"""The class grid as the proctor page shows it: rows with the current step and time on it, sorted and
filtered, built from :func:`webapp.services.progress.cohort` (one query, no Attempt rows)."""

from __future__ import annotations

from dataclasses import dataclass

from checks.outcome import Status

from ..services.progress import CohortProgress, GridRow, StepProgress

SORTS = {"name": "Name", "progress": "Progress (most done first)", "time": "Time on current step (longest first)"}
STATUS_FILTERS = ("PASS", "FAIL", "PENDING", "ERROR", "NOT_STARTED")


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
class Filters:
    sort: str = "name"
    status: str = ""
    stuck: bool = False
    q: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        sort = args.get("sort", "name")
        status = args.get("status", "").upper()
        return cls(
            sort=sort if sort in SORTS else "name",
            status=status if status in STATUS_FILTERS else "",
            stuck=args.get("stuck") in ("1", "on", "true"),
            q=" ".join(str(args.get("q", "")).split())[:100],
        )

    def query(self) -> dict[str, str]:
        """The non-default values, for links that keep the current view."""
        out = {"sort": self.sort} if self.sort != "name" else {}
        if self.status:
            out["status"] = self.status
        if self.stuck:
            out["stuck"] = "1"
        if self.q:
            out["q"] = self.q
        return out


def rows(grid: CohortProgress, filters: Filters) -> list[Row]:
    stuck = {s.attendee_id: s.reason for s in grid.stuck}
    built = []
    for row in grid.rows:
        current = next((c for c in row.cells.values() if c.status != Status.PASS), None)
        built.append(Row(row, current, current.seconds_on_step if current else None, stuck.get(row.attendee_id)))
    if filters.q:
        needle = filters.q.lower()
        built = [r for r in built if needle in r.name.lower() or needle in r.row.external_id.lower()]
    if filters.stuck:
        built = [r for r in built if r.stuck]
    if filters.status:
        # The current task's status says where each attendee is now; PASS means they finished the lab.
        want = None if filters.status == "NOT_STARTED" else filters.status
        built = [r for r in built if (r.current.status if r.current else Status.PASS.value) == want]
    if filters.sort == "progress":
        built.sort(key=lambda r: (-r.row.done, r.name.lower()))
    elif filters.sort == "time":
        built.sort(key=lambda r: (-(r.seconds_on_current or -1), r.name.lower()))
    else:
        built.sort(key=lambda r: (r.name.lower(), r.row.attendee_id))
    return built
