"""StepResult survives its JSON round trip (the database and the API store it as JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.outcome import Outcome, Status
from validator import StepResult


def test_json_round_trip_keeps_everything():
    result = StepResult(
        lab="spot-the-flaw", step="s1", task="3.2", title="Tag the defective images", status=Status.PASS,
        message="Everything is in place.", hint=None,
        checks=(Outcome("tag_image_count", Status.PASS, "Tag 'Defect' holds 781 images.", None, {"n": 781}),
                Outcome("project_untagged_images", Status.FAIL, "3 images have no tag.", "Tag them.", {},
                        ("3 images have no tag.",), advisory=True)),
        started_at=datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC), duration_ms=412, azure_calls=3,
        calls_by_operation={"GetTags": 1}, advice=("3 images have no tag.",),
    )
    assert StepResult.from_json(result.to_json()) == result


def test_follows_from_round_trips_and_old_results_keep_theirs():
    cause = Outcome("project_exists", Status.FAIL, "No project named 'P' was found.", "Create it.", {})
    follow = Outcome("project_description", Status.FAIL, "No project, so its description cannot be checked.",
                     "Create the project.", {"project": None}, follows_from="project_exists")
    result = StepResult(
        lab="spot-the-flaw", step="s2", task="2", title="Create a project", status=Status.FAIL,
        message=cause.message, hint=cause.hint, checks=(cause, follow),
        started_at=datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC), duration_ms=40, azure_calls=2)
    data = result.to_json()
    assert data["checks"][1]["follows_from"] == "project_exists" and data["checks"][0]["follows_from"] is None
    assert "follows_from" not in data["checks"][1]["evidence"]
    assert StepResult.from_json(data) == result
    # As attempts stored before the field: the evidence key, no field.
    old = {**data, "checks": [data["checks"][0], {k: v for k, v in data["checks"][1].items() if k != "follows_from"}
                              | {"evidence": {"project": None, "follows_from": "project_exists"}}]}
    assert StepResult.from_json(old) == result


def test_redact_masks_a_secret_that_holds_another_whole():
    """Longest first: masking 'Passw0rd' first would leave the '!2' of 'Passw0rd!2' (in one process in two,
    as a set's order changes with string hashing)."""
    from validator.result import redact

    assert redact({"message": "tried Passw0rd!2 and Passw0rd", "n": [1, "Passw0rd!2"]},
                  {"Passw0rd", "Passw0rd!2", "", "short"}) == {"message": "tried *** and ***", "n": [1, "***"]}
