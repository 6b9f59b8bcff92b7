"""Task 5: stored Quick Test predictions on the trained iteration include one with the lab's top tag.

PREDICTIONS holds the project's stored predictions of every iteration; the check keeps those of the
newest trained iteration, so a student who retrained is told to quick-test the new model. While a retrain
is running the validator may skip PREDICTIONS (None): the check is then PENDING, as it is when what exists
does not pass yet, since the student should quick-test the new iteration once it completes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from checks import facts as F
from checks.base import Context, Requirement, check, failed, passed, pending
from checks.expect import TAG, Key, loose, tag_key
from checks.iterations import training_recheck_after
from checks.outcome import Outcome, Status
from checks.wording import joined, pct, plural, since

_EPOCH = datetime.min.replace(tzinfo=UTC)

QUICK_TESTED = Requirement(F.TRAINED_ITERATION, "to quick-test")
"""A Quick Test needs a trained iteration: "project 'X' has no trained iteration to quick-test yet"."""


def newest_first(preds: list[F.PredictionFact]) -> list[F.PredictionFact]:
    return sorted(preds, key=lambda p: p.created or _EPOCH, reverse=True)


@check("quicktest_top_tag", title="A Quick Test on the trained iteration predicts the lab's tag",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.LATEST_ITERATION, F.TRAINED_ITERATION, F.PREDICTIONS),
       requires=(F.PROJECT, QUICK_TESTED),
       expects=(Key("tag", TAG, "The tag a stored Quick Test must have as its top prediction.", required=True,
                    example="Defect"),))
def quicktest_top_tag(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project = facts[F.PROJECT]
    trained = facts[F.TRAINED_ITERATION]
    want = expect["tag"]
    latest = facts[F.LATEST_ITERATION]
    retraining = latest if latest is not None and latest.id != trained.id and is_running(latest) else None
    if facts[F.PREDICTIONS] is None and retraining is not None:
        return wait_for_retrain(retraining, project, want, ctx, {"project": project.name, "expected_tag": want})
    out = _judge(project, trained, want, list(facts[F.PREDICTIONS] or []))
    if out.status is not Status.PASS and retraining is not None:
        return wait_for_retrain(retraining, project, want, ctx, dict(out.evidence))
    return out


def is_running(it: F.IterationFact) -> bool:
    return loose(it.status) not in ("completed", "failed")


def wait_for_retrain(it: F.IterationFact, project: F.ProjectFact, want: str, ctx: Context,
              ev: dict[str, Any]) -> Outcome:
    took = since(it.created, ctx.now)
    running = f" for {took}" if took else ""
    return pending(
        f"Iteration '{it.name}' of project '{project.name}' has been training{running} (status {it.status}); "
        "labgrader checks your Quick Test on it once it completes.",
        f"When training finishes, click Quick Test in customvision.ai, choose iteration '{it.name}', and test "
        f"an image that should be predicted as '{want}'.",
        {**ev, "training_iteration": it.name, "training_iteration_id": it.id},
        recheck_after=training_recheck_after(it, ctx),
    )


def _judge(project: F.ProjectFact, trained: F.IterationFact, want: str,
           preds: list[F.PredictionFact]) -> Outcome:
    # The service names the iteration of every stored prediction; one without is given the benefit of the doubt.
    here = newest_first([p for p in preds if p.iteration_id in (None, trained.id)])
    elsewhere = [p for p in preds if p not in here]
    ev: dict[str, Any] = {
        "project": project.name, "iteration": trained.name, "iteration_id": trained.id, "expected_tag": want,
        "predictions": [{"id": p.id, "top_tag": p.top_tag, "probability": p.top_probability} for p in here],
    }
    hit = next((p for p in here if tag_key(p.top_tag) == tag_key(want)), None)
    if hit is not None:
        ev["match"] = hit.id
        return passed(f"Found a Quick Test on iteration '{trained.name}' whose top prediction is "
                      f"'{hit.top_tag}' ({pct(hit.top_probability)}).", ev)
    test = (f"In customvision.ai, click Quick Test, select Browse local files, and open a new image that "
            f"should be predicted as '{want}'.")
    if here:
        tops = joined(f"'{p.top_tag}' ({pct(p.top_probability)})" for p in here)
        return failed(
            f"Found {plural(len(here), 'Quick Test result')} on iteration '{trained.name}', but none has "
            f"'{want}' as its top prediction (top predictions: {tops}).",
            test, ev,
        )
    if elsewhere:
        ev["other_iterations"] = sorted({p.iteration_id for p in elsewhere if p.iteration_id})
        return failed(
            f"Your Quick Test results are on an older iteration, not on '{trained.name}', the newest trained "
            f"iteration of project '{project.name}'.",
            f"In customvision.ai, click Quick Test, choose iteration '{trained.name}', and test an image that "
            f"should be predicted as '{want}'.",
            ev,
        )
    return failed(
        f"No stored Quick Test result was found for iteration '{trained.name}' of project '{project.name}'.",
        test, ev,
    )
