"""A class read a page at a time: filters and sorts across every page, counts of the whole class, the same
number of SQL queries for a class of any size (the class page, its live grid, the progress API), and the
attendee standings that let the class view skip every summary's observations (kept by each record, and
filled by migration 0011 for summaries recorded before it)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import validator
from checks.outcome import Outcome, Status
from webapp.extensions import db
from webapp.models import AttendeeStanding
from webapp.proctor import grid
from webapp.services import apikeys, attendees, proctors, progress, validation

from .test_proctor_pages import PASSWORD, STEP1, STEP2, sign_in

LAB = "spot-the-flaw"
STUCK = ("project_classification_multiclass", "Project 'Casting Defect Detection' is Multilabel.")


def _record(who, step: str, task: str, status: Status, *, failing=(), at=None, observed=None) -> None:
    checks = tuple(Outcome(c, Status.FAIL, msg, "Fix it.", {"seen": "x"}) for c, msg in failing)
    result = validator.StepResult(lab=LAB, step=step, task=task, title="t", status=status,
                                  message=f"{status.value} on task {task}.", hint=None, checks=checks,
                                  started_at=at or datetime.now(UTC), duration_ms=5, azure_calls=1,
                                  observed=dict(observed or {}))
    validation.record(who, result, result.to_json(), trigger="sweep", triggered_by=None)


def _azure() -> dict:
    return {"subscription_id": str(uuid.uuid4()), "resource_group": "rg"}


def _class(name: str, size: int) -> list:
    """``size`` attendees in class ``name``, by index i: i % 4 == 0 passed Tasks 1 and 2; 1 failed Task 2 three
    times (stuck); 2 passed Task 1 only; 3 has not started."""
    people = []
    for i in range(size):
        who = attendees.upsert(LAB, f"{name.lower()}-{i:02d}", cohort=name, display_name=f"{name} Person {i:02d}",
                               azure=_azure())
        kind = i % 4
        if kind in (0, 1, 2):
            _record(who, STEP1, "1", Status.PASS)
        if kind == 0:
            _record(who, STEP2, "2", Status.PASS)
        if kind == 1:
            for _ in range(3):
                _record(who, STEP2, "2", Status.FAIL, failing=(STUCK,))
        people.append(who)
    return people


@pytest.fixture
def wednesday(app):
    app.config.update(STUCK_AFTER_FAILS=3, STUCK_AFTER_MINUTES=60)
    return _class("Wednesday", 10)


def test_filters_and_sorts_apply_to_the_whole_class_then_the_page(wednesday):
    every = progress.cohort(LAB, "Wednesday")
    assert every.attendees == every.matching == len(every.rows) == 10 and every.pages == 1

    first = progress.cohort(LAB, "Wednesday", progress.ClassView(per_page=4))
    third = progress.cohort(LAB, "Wednesday", progress.ClassView(per_page=4, page=3))
    assert [r.external_id for r in first.rows] == [f"wednesday-{i:02d}" for i in range(4)]
    assert [r.external_id for r in third.rows] == ["wednesday-08", "wednesday-09"]
    assert (first.pages, third.page, third.matching) == (3, 3, 10)
    past = progress.cohort(LAB, "Wednesday", progress.ClassView(per_page=4, page=99))
    assert past.page == 3 and [r.external_id for r in past.rows] == ["wednesday-08", "wednesday-09"]
    # The class's counts, stuck list and funnel are the whole class's on every page.
    for data in (first, third):
        step1, step2 = data.steps[0], data.steps[1]
        assert step1.counts["PASS"] == 8 and step1.counts["NOT_STARTED"] == 2 and step1.passed == 8
        assert step2.counts["FAIL"] == 3 and step2.counts["PASS"] == 3 and step2.counts["NOT_STARTED"] == 4
        assert [(f.check_id, f.count) for f in step2.failures] == [(STUCK[0], 3)]
        assert [s.external_id for s in data.stuck] == ["wednesday-01", "wednesday-05", "wednesday-09"]

    def ids(**view) -> list[str]:
        return [r.external_id for r in progress.cohort(LAB, "Wednesday", progress.ClassView(**view)).rows]

    assert ids(stuck=True, per_page=1) == ["wednesday-01"]
    assert ids(stuck=True, per_page=1, page=2) == ["wednesday-05"]
    assert ids(status="FAIL") == ["wednesday-01", "wednesday-05", "wednesday-09"]
    # Not started on the task they are on now: Task 3 after two passes, Task 2 after one, Task 1.
    assert ids(status="NOT_STARTED") == [f"wednesday-{i:02d}" for i in (0, 2, 3, 4, 6, 7, 8)]
    assert ids(step=STEP1) == ["wednesday-03", "wednesday-07"]  # not started: their current step is Task 1
    assert ids(q="PERSON 0", sort="progress")[:3] == ["wednesday-00", "wednesday-04", "wednesday-08"]
    assert ids(q="wednesday-1") == []  # ids are wednesday-00 .. wednesday-09
    row = progress.cohort(LAB, "Wednesday", progress.ClassView(q="person 01")).rows[0]
    assert row.stuck == "3 failed attempts in a row" and row.current_step == STEP2 and row.done == 1


def test_the_grid_pages_keep_the_filters(client, wednesday, monkeypatch):
    proctors.add("pat@example.com", PASSWORD)
    proctors.grant("pat@example.com", LAB, "Wednesday")
    sign_in(client)
    base = "/proctor/labs/spot-the-flaw/classes/Wednesday"
    html = client.get(base).get_data(as_text=True)
    assert len(re.findall(r'<tr data-testid="row-', html)) == 10 and 'data-testid="pager"' not in html

    monkeypatch.setattr(grid, "PAGE_SIZE", 3)  # the class is small; the rule is the same
    html = client.get(f"{base}?status=NOT_STARTED").get_data(as_text=True)
    rows = re.findall(r'<tr data-testid="row-([a-z0-9-]+)"', html)
    assert rows == ["wednesday-00", "wednesday-02", "wednesday-03"]
    assert "7 of 10 attendees match; showing 1&ndash;3" in html
    assert "Page 1 of 3" in html and 'data-testid="page-prev"' not in html
    next_link = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "status=NOT_STARTED" in next_link and "page=2" in next_link
    # The whole class's reasons and funnel, whatever the page shows.
    assert "<strong>3 attendees:</strong> Project &#39;Casting Defect Detection&#39; is Multilabel." in html
    assert "Task 1: 8 of 10 passed" in html
    live = re.search(r'hx-get="([^"]+)"', html).group(1)
    assert "status=NOT_STARTED" in live  # the live refresh stays on this view
    # The CSV export is the whole class, read a chunk of attendees at a time.
    exported = client.get(f"{base}/grid.csv").get_data(as_text=True).splitlines()
    assert [line.split(",")[0] for line in exported[1:]] == [f"wednesday-{i:02d}" for i in range(10)]
    assert [r.external_id for r in progress.every_row(LAB, "Wednesday", chunk=3)] == \
        [f"wednesday-{i:02d}" for i in range(10)]


def test_the_api_pages_and_filters_the_class(client, wednesday):
    key = apikeys.create("platform")[1]
    headers = {"Authorization": f"Bearer {key}"}
    url = f"/api/v1/labs/{LAB}/progress?class=Wednesday"

    body = client.get(f"{url}&per_page=4&page=2", headers=headers).get_json()
    assert body["paging"] == {"page": 2, "per_page": 4, "pages": 3, "matching": 10, "attendees": 10}
    assert [a["attendee"] for a in body["attendees"]] == [f"wednesday-{i:02d}" for i in range(4, 8)]
    assert body["totals"]["by_status"]["PASS"] == 8 + 3 and body["totals"]["steps"] == 10 * len(body["steps"])
    assert [s["attendee"] for s in body["steps"][1]["stuck"]] == ["wednesday-01", "wednesday-05", "wednesday-09"]

    stuck = client.get(f"{url}&stuck=true&per_page=2", headers=headers).get_json()
    assert [a["attendee"] for a in stuck["attendees"]] == ["wednesday-01", "wednesday-05"]
    assert stuck["paging"]["matching"] == 3 and stuck["paging"]["pages"] == 2
    on_task_2 = client.get(f"{url}&step=2&status=FAIL", headers=headers).get_json()
    assert [a["attendee"] for a in on_task_2["attendees"]] == ["wednesday-01", "wednesday-05", "wednesday-09"]
    assert client.get(f"{url}&step=99", headers=headers).status_code == 422
    assert client.get(f"{url}&per_page=501", headers=headers).status_code == 400  # the schema refuses it
    assert client.get(f"{url}&status=DONE", headers=headers).status_code == 400


def test_queries_per_page_do_not_grow_with_the_class(app, client):
    app.config.update(STUCK_AFTER_FAILS=3, STUCK_AFTER_MINUTES=60)
    _class("Small", 3)
    _class("Large", 12)
    proctors.add("root@example.com", PASSWORD, is_admin=True)
    sign_in(client, "root@example.com")
    key = apikeys.create("platform")[1]
    queries = [0]

    def count(*_args) -> None:
        queries[0] += 1

    def per_page(path: str, **kw) -> int:
        client.get(path, **kw)  # warm: the lab pack, the templates
        queries[0] = 0
        assert client.get(path, **kw).status_code == 200
        return queries[0]

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        for page in ("", "/grid", "/grid?stuck=1&sort=time"):
            small, large = (per_page(f"/proctor/labs/{LAB}/classes/{name}{page}") for name in ("Small", "Large"))
            assert small == large, page
        api = {"headers": {"Authorization": f"Bearer {key}"}}
        assert per_page(f"/api/v1/labs/{LAB}/progress?class=Small", **api) == \
            per_page(f"/api/v1/labs/{LAB}/progress?class=Large", **api)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


# -- the standings ----------------------------------------------------------------------------------------

STEP4 = "3c9e5f1a-7b2d-4e8f-a6c0-2d4b6e8f0a33"
STEP51 = "5d0f6a2b-8c3e-4f9a-b7d1-3e5c7f9a1b44"
ACCOUNT = {"training_account": "/subscriptions/s/resourcegroups/rg/providers/x/accounts/cv", "project": "p1"}


def _on(iteration: str) -> dict:
    return {**ACCOUNT, "latest_iteration": iteration, "trained_iteration": iteration}


def _standing(who) -> list[str]:
    db.session.expire_all()
    return db.session.get(AttendeeStanding, who.id).out_of_date


def test_each_record_keeps_the_standing_the_attendee_page_would_work_out(app):
    who = attendees.upsert(LAB, "retrainer", cohort="Thursday", azure=_azure())
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    _record(who, STEP51, "5.1", Status.PASS, at=t0, observed=_on("it1"))
    assert _standing(who) == []
    _record(who, STEP4, "4", Status.PASS, at=t0 + timedelta(minutes=1), observed=_on("it2"))  # retrained
    assert _standing(who) == [STEP51] == [s.step_id for s in progress.attendee(who).steps if s.stale]
    data = progress.cohort(LAB, "Thursday")
    assert data.rows[0].done == 1 and next(s for s in data.steps if s.step_id == STEP51).passed == 0
    assert data.steps[0].counts["NOT_STARTED"] == 1
    _record(who, STEP51, "5.1", Status.PASS, at=t0 + timedelta(minutes=2), observed=_on("it2"))
    assert _standing(who) == []
    assert progress.cohort(LAB, "Thursday").rows[0].done == 2


def test_migration_0011_fills_the_standings_of_earlier_summaries(make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from webapp.extensions import MIGRATIONS_DIR

    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}", AUTO_MIGRATE=True)
    with app.app_context():
        who = attendees.upsert(LAB, "before", cohort="Friday", azure=_azure())
        other = attendees.upsert(LAB, "fine", cohort="Friday", azure=_azure())
        t0 = datetime.now(UTC) - timedelta(minutes=10)
        _record(who, STEP51, "5.1", Status.PASS, at=t0, observed=_on("it1"))
        _record(who, STEP4, "4", Status.PASS, at=t0 + timedelta(minutes=1), observed=_on("it2"))
        _record(other, STEP4, "4", Status.PASS, at=t0, observed=_on("it1"))
        db.session.commit()
        downgrade(directory=MIGRATIONS_DIR, revision="0010")
        assert "attendee_standings" not in sa.inspect(db.engine).get_table_names()
        upgrade(directory=MIGRATIONS_DIR)
        db.session.expire_all()
        assert db.session.get(AttendeeStanding, who.id).out_of_date == [STEP51]
        assert db.session.get(AttendeeStanding, other.id).out_of_date == []
