"""Progress counts a PASS only while the resources it was judged on are still the ones labgrader sees: a
retrain (a newer trained iteration) makes the quick tests and the export check out of date until validated
again, in the student's bar, the proctor's grid and the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

import validator
from azuresim.student import Student
from checks.outcome import Status
from webapp.api import present
from webapp.extensions import db
from webapp.models import StepSummary
from webapp.services import attendees, labs, launch, progress, validation

STEP4 = "3c9e5f1a-7b2d-4e8f-a6c0-2d4b6e8f0a33"
STEP51 = "5d0f6a2b-8c3e-4f9a-b7d1-3e5c7f9a1b44"
STEP52 = "7e1a8b3c-9d4f-4a0b-c8e2-4f6d8a0b2c55"
STEP6 = "9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66"


def _result(status, observed, step, task, at=None):
    return validator.StepResult(
        lab="spot-the-flaw", step=step, task=task, title="t", status=status, message=f"{status.value}.",
        hint=None, checks=(), started_at=at or datetime.now(UTC), duration_ms=5, azure_calls=1,
        observed=dict(observed or {}),
    )


def _split(creds: dict) -> tuple[dict, dict]:
    return {k: v for k, v in creds.items() if k != "injects"}, dict(creds.get("injects") or {})


@pytest.fixture
def me(app, lab_id, attendee):
    azure, injects = _split(attendee)
    return attendees.upsert(lab_id, "retrainer", cohort="Monday", display_name="Ada Lovelace", injects=injects,
                            azure=azure)


# -- progress that went stale ---------------------------------------------------------------------------

ACCOUNT = {"training_account": "/subscriptions/s/resourcegroups/rg/providers/x/accounts/cv", "project": "p1"}


def _on(it: str, latest: str | None = None) -> dict:
    return {**ACCOUNT, "latest_iteration": latest or it, "trained_iteration": it}


def _record(who, step, task, observed, status=Status.PASS, at=None):
    result = _result(status, observed, step, task, at)
    validation.record(who, result, result.to_json(), trigger="sweep", triggered_by=None)


@pytest.fixture
def learner(app, lab_id):
    return attendees.upsert(lab_id, "learner", cohort="Monday", display_name="Lea",
                            azure={"subscription_id": str(uuid.uuid4()), "resource_group": "rg"})


def test_a_retrain_makes_quick_tests_out_of_date_until_validated_again(learner):
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    for i, (step, task) in enumerate(((STEP4, "4"), (STEP51, "5.1"), (STEP52, "5.2"))):
        _record(learner, step, task, _on("it1"), at=t0 + timedelta(seconds=i))
    _record(learner, STEP6, "6", {**ACCOUNT, "trained_iteration": "it1"}, at=t0 + timedelta(seconds=3))
    assert progress.attendee(learner).done == 4

    _record(learner, STEP4, "4", _on("it2"), at=t0 + timedelta(minutes=5))  # retrained, Task 4 validated again
    mine = progress.attendee(learner)
    stale = {s.task for s in mine.steps if s.stale}
    assert stale == {"5.1", "5.2", "6"} and mine.done == 1
    assert all(s.status == "PASS" for s in mine.steps if s.stale)  # the verdict stays; it only stops counting

    _record(learner, STEP51, "5.1", _on("it2"), at=t0 + timedelta(minutes=6))
    assert {s.task for s in progress.attendee(learner).steps if s.stale} == {"5.2", "6"}


def test_a_slow_old_result_never_replaces_a_newer_observation(learner):
    now = datetime.now(UTC)
    _record(learner, STEP51, "5.1", _on("it1"), at=now - timedelta(minutes=9))
    _record(learner, STEP4, "4", _on("it2"), at=now - timedelta(minutes=1))
    _record(learner, STEP4, "4", _on("it1"), at=now - timedelta(minutes=5))  # overtaken: finished late
    summary = db.session.get(StepSummary, (learner.id, STEP4))
    assert summary.observed["trained_iteration"][0] == "it2" and summary.judged_on["trained_iteration"] == "it2"
    assert [s.task for s in progress.attendee(learner).steps if s.stale] == ["5.1"]


def test_an_error_keeps_the_pass_and_what_it_rests_on(learner):
    now = datetime.now(UTC)
    _record(learner, STEP4, "4", _on("it1"), at=now - timedelta(minutes=3))
    _record(learner, STEP4, "4", {"training_account": ACCOUNT["training_account"]}, status=Status.ERROR,
            at=now - timedelta(minutes=2))
    _record(learner, STEP51, "5.1", _on("it1"), at=now - timedelta(minutes=1))
    mine = progress.attendee(learner)
    assert mine.done == 2 and not any(s.stale for s in mine.steps)


def test_summaries_from_before_observations_never_count_as_stale(learner):
    _record(learner, STEP4, "4", {})
    _record(learner, STEP51, "5.1", _on("it9"))
    assert progress.attendee(learner).done == 2


def test_class_grid_and_api_count_out_of_date_passes_as_not_done(app, learner, lab_id):
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    _record(learner, STEP51, "5.1", _on("it1"), at=t0)
    _record(learner, STEP4, "4", _on("it2"), at=t0 + timedelta(minutes=1))
    data = progress.cohort(lab_id, "Monday")
    row = next(r for r in data.rows if r.external_id == "learner")
    assert row.done == 1 and row.cells[STEP51].stale
    assert next(s for s in data.steps if s.step_id == STEP51).passed == 0
    body = present.attendee_progress(learner, progress.attendee(learner))
    assert body["totals"]["passed"] == 1 and body["steps"][STEP51]["out_of_date"] is True
    assert body["totals"]["by_status"]["PASS"] == 2


def test_retrain_end_to_end_makes_the_progress_bar_drop(client, me, attendee):
    """Through the simulator and the student page: 8 of 8, retrain, validate Task 4, the bar drops."""
    student = Student(attendee, counts={"Non Defective": 30, "Defect": 40})
    student.do_all()
    for spec in labs.pack(me.lab_id).steps:
        result = validation.run(me, spec.id, trigger="sweep")
        assert result.status is Status.PASS or spec.task in ("3.1", "3.2"), (spec.task, result.message)
    before = progress.attendee(me).done
    student.do("4")  # a retrain: a new trained iteration
    assert validation.run(me, STEP4, trigger="sweep").status is Status.PASS
    after = progress.attendee(me)
    assert {s.task for s in after.steps if s.stale} == {"5.1", "5.2", "6"}
    assert after.done == before - 3
    assert client.get(f"/launch/{launch.make_token(me)}").status_code == 303
    page = client.get("/lab").get_data(as_text=True)
    assert f'data-testid="progress-text">{after.done} of {after.total}<' in page


# -- how an out-of-date PASS reads ----------------------------------------------------------------------


def _between(page: str, start: str, end: str) -> str:
    at = page.index(start)
    return page[at:page.index(end, at)]


def test_an_out_of_date_pass_says_so_and_since_when_wherever_it_shows(client, learner, lab_id):
    """The guide's badge as the page opens, the proctor's grid and attendee page: not a plain PASS."""
    from tests.webapp.test_proctor_pages import PASSWORD, sign_in
    from webapp.services import proctors

    now = datetime.now(UTC)
    _record(learner, STEP4, "4", _on("it1"), at=now - timedelta(hours=2, minutes=10))
    _record(learner, STEP51, "5.1", _on("it1"), at=now - timedelta(hours=2, minutes=1))
    _record(learner, STEP4, "4", _on("it2"), at=now - timedelta(minutes=5))  # retrained: 5.1 is out of date
    db.session.commit()

    assert client.get(f"/launch/{launch.make_token(learner)}").status_code == 303
    page = client.get("/lab").get_data(as_text=True)
    stale = _between(page, f'data-testid="badge-{STEP51}"', f'data-testid="history-{STEP51}"')
    assert 'data-status="PASS" data-stale="true"' in stale
    assert "Out of date:</strong> passed 2 h ago, on resources" in stale and "Press Validate" in stale
    fresh = _between(page, f'data-testid="badge-{STEP4}"', f'data-testid="history-{STEP4}"')
    assert 'data-status="PASS"' in fresh and "Out of date" not in fresh and "data-stale" not in fresh

    proctors.add("pat@example.com", PASSWORD)
    proctors.grant("pat@example.com", lab_id, "Monday")
    assert sign_in(client).status_code == 303
    grid = client.get(f"/proctor/labs/{lab_id}/classes/Monday/grid").get_data(as_text=True)
    cell = _between(grid, 'data-testid="cell-learner-5.1"', "</td>")
    assert 'data-stale="true"' in cell and "out of date, passed 2 h ago</span>" in cell
    assert "out-of-date-learner-4" not in grid and "PASS" in _between(grid, 'data-testid="cell-learner-4"', "</td>")
    mine = client.get(f"/proctor/attendees/{learner.id}").get_data(as_text=True)
    assert mine.count('data-testid="out-of-date"') == 1
    assert "(out of date: passed 2 h ago, on resources that have changed since)" in mine
