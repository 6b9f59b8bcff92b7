"""Whole lab vs step by step for the scripted mistakes of Task 3.2 (the defective images): see ``wholelab``."""

from __future__ import annotations

import pytest

from .wholelab import cases, judged_as_alone, own_sim, slow_sim  # noqa: F401 - module-scoped fixtures

# A whole-lab walk: `make test-slow` (and CI) runs it, `make test` leaves it out to stay quick.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("task", "mistake"), cases("defect_images"), ids=lambda v: str(v))
def test_whole_lab_judges_every_step_as_alone(request, small_lab, task, mistake, runtime):
    sim = request.getfixturevalue("slow_sim" if mistake == "not-finished" else "own_sim")
    judged_as_alone(sim, small_lab, task, mistake, runtime=runtime)
