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
