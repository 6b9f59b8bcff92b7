"""Task 4: training: the newest iteration completed, with Quick Training, and performs well enough."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from checks import facts as F
from checks.base import Context, check, errored, failed, passed, pending
from checks.expect import NUMBER, TEXT, Key, loose
from checks.outcome import Outcome
from checks.wording import pct, since

TRAINING_TYPE_NAMES = {"regular": "Quick Training", "advanced": "Advanced Training"}


def training_name(ctx: Context) -> str:
    """How the portal names the training type the lab asks for (``iteration_training_type``): "Quick Training"."""
    want = ctx.expected("iteration_training_type", "training_type")
    return TRAINING_TYPE_NAMES.get(loose(want), want)


def train_hint(ctx: Context) -> str:
    return f"In customvision.ai, click the green Train button, choose {training_name(ctx)}, and select Train."



def evidence(it: F.IterationFact) -> dict[str, Any]:
    return {"iteration_id": it.id, "iteration": it.name, "status": it.status, "created": it.created,
            "trained_at": it.trained_at, "training_type": it.training_type}


def trained_performance(facts: F.Snapshot, fact: F.Fact[F.PerformanceFact | None], ctx: Context):
    """The project, its trained iteration and that iteration's performance (``fact``), or the outcome that
    stops a performance check first: a retrain running, nothing trained, performance unread (the check
    requires the project: the runner answers when there is none)."""
    project = facts[F.PROJECT]
    latest = facts[F.LATEST_ITERATION]
    trained = facts[F.TRAINED_ITERATION]
    if latest is not None and training_state(latest) == "running":
        # A retrain is under way: judge the new model when it is ready, not the old one.
        return None, None, None, still_training(latest, project, ctx, " Its performance is checked when it completes.")
    if trained is None:
        return None, None, None, failed(
            f"Project '{project.name}' has no completed iteration, so its performance cannot be checked.",
            train_hint(ctx), {"project": project.name}, follows_from="iteration_completed")
    perf = facts[fact]
    if perf is None or (perf.iteration_id is not None and perf.iteration_id != trained.id):
        return None, None, None, errored(
            f"labgrader could not read the performance of iteration '{trained.name}'.", evidence=evidence(trained))
    return project, trained, perf, None


def training_state(it: F.IterationFact) -> str:
    """'completed', 'failed' or 'running' (any other status: Training, Queued, ...)."""
    status = loose(it.status)
    return status if status in ("completed", "failed") else "running"


def still_training(it: F.IterationFact, project: F.ProjectFact, ctx: Context, then: str = "") -> Outcome:
    took = since(it.created, ctx.now)
    running = f" for {took}" if took else ""
    return pending(
        f"Iteration '{it.name}' of project '{project.name}' has been training{running} (status {it.status})."
        f"{then}",
        _TAKES.get(training_name(ctx), "Training takes a while; there is nothing to do until it finishes."),
        evidence(it),
        recheck_after=training_recheck_after(it, ctx),
    )


_TAKES = {
    "Quick Training": "Quick Training usually takes a few minutes; there is nothing to do until it finishes.",
    "Advanced Training": "Advanced Training runs for the training budget chosen when it started; there is nothing "
                         "to do until it finishes.",
}


def training_recheck_after(it: F.IterationFact, ctx: Context) -> int:
    """Seconds before looking at a running training again: soon at first, every half minute once it has
    run for two minutes (Quick Training takes a few minutes on Azure, seconds in the simulator)."""
    created = it.created if it.created.tzinfo else it.created.replace(tzinfo=UTC)
    return 10 if (ctx.now - created).total_seconds() < 120 else 30


@check("iteration_completed", title="The newest iteration finished training",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.LATEST_ITERATION), requires=(F.PROJECT,), expects=())
def iteration_completed(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project = facts[F.PROJECT]
    it = facts[F.LATEST_ITERATION]
    if it is None:
        return failed(f"Project '{project.name}' has no trained iteration yet.", train_hint(ctx),
                      {"project": project.name})
    state = training_state(it)
    if state == "running":
        return still_training(it, project, ctx)
    if state == "failed":
        details = f": {it.training_error.rstrip('.')}." if it.training_error else ", and Azure gave no details."
        return failed(
            f"Training of iteration '{it.name}' in project '{project.name}' failed{details}",
            # Custom Vision refuses to start a training its data cannot support (too few images per tag), so a
            # training that started and failed says nothing about the student's images: start it again.
            f"In customvision.ai, click Train, choose {training_name(ctx)}, and select Train to start it again. If "
            "it fails again, tell your proctor and show them the error above.",
            {**evidence(it), "training_error": it.training_error},
        )
    return passed(f"Iteration '{it.name}' of project '{project.name}' finished training (Completed).", evidence(it))


@check("iteration_training_type", title="The newest iteration used the lab's training type",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.LATEST_ITERATION), requires=(F.PROJECT,),
       expects=(Key("training_type", TEXT, "Regular: Quick Training; Advanced: Advanced Training (as the "
                                           "Training API names them).", default="Regular",
                    allowed=("Regular", "Advanced"), example="Regular"),))
def iteration_training_type(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project = facts[F.PROJECT]
    it = facts[F.LATEST_ITERATION]
    if it is None:
        return failed(f"Project '{project.name}' has no iteration yet, so its training type cannot be checked.",
                      train_hint(ctx), {"project": project.name}, follows_from="iteration_completed")
    want = expect["training_type"]
    want_name = TRAINING_TYPE_NAMES.get(loose(want), want)
    if not it.training_type:
        return errored(f"Azure did not report the training type of iteration '{it.name}'.", evidence=evidence(it))
    have_name = TRAINING_TYPE_NAMES.get(loose(it.training_type), it.training_type)
    if loose(it.training_type) == loose(want):
        return passed(f"Iteration '{it.name}' of project '{project.name}' was trained with {have_name}.", evidence(it))
    return failed(
        f"Iteration '{it.name}' of project '{project.name}' was trained with {have_name}; this lab asks for "
        f"{want_name}.",
        f"In customvision.ai, click Train, choose {want_name}, and select Train.",
        evidence(it),
    )


_FRACTION = {"minimum": 0.0, "maximum": 1.0}


@check("iteration_performance", title="The trained iteration meets the lab's precision and recall floors",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.LATEST_ITERATION, F.TRAINED_ITERATION, F.PERFORMANCE),
       requires=(F.PROJECT,),
       expects=(
           Key("threshold", NUMBER, "The probability threshold performance is read at (0.5 is the portal's).",
               default=0.5, example=0.5, **_FRACTION),
           Key("precision_min", NUMBER, "The lowest precision that passes, 0 to 1.", default=0.0, example=0.7,
               **_FRACTION),
           Key("recall_min", NUMBER, "The lowest recall that passes, 0 to 1.", default=0.0, example=0.7,
               **_FRACTION),
       ))
def iteration_performance(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project, trained, perf, out = trained_performance(facts, F.PERFORMANCE, ctx)
    if out:
        return out
    threshold = expect["threshold"]
    if abs(perf.threshold - threshold) > 1e-6:
        # The validator fetched performance at another threshold: a grader-side mix-up.
        return errored(
            f"labgrader read the performance of iteration '{trained.name}' at the wrong probability threshold.",
            evidence={**evidence(trained), "threshold": perf.threshold, "expected_threshold": threshold},
        )
    p_min, r_min = expect["precision_min"], expect["recall_min"]
    ev = {**evidence(trained), "threshold": threshold, "precision": perf.precision, "recall": perf.recall,
          "average_precision": perf.average_precision, "precision_min": p_min, "recall_min": r_min,
          "per_tag": [{"tag": t.name, "precision": t.precision, "recall": t.recall} for t in perf.per_tag]}
    figures = (f"precision {pct(perf.precision)} and recall {pct(perf.recall)} at the {pct(threshold)} "
               "probability threshold")
    floors = f"this lab needs at least {pct(p_min)} precision and {pct(r_min)} recall"
    eps = 1e-9  # floats from JSON: 0.7 must pass a 0.7 floor
    if perf.precision + eps >= p_min and perf.recall + eps >= r_min:
        return passed(f"Iteration '{trained.name}' of project '{project.name}' reaches {figures} ({floors}).", ev)
    return failed(
        f"Iteration '{trained.name}' of project '{project.name}' reaches {figures}; {floors}.",
        "Check in Training Images that every image carries the right tag (mislabelled images lower precision "
        f"and recall), then click Train and choose {training_name(ctx)} again.",
        ev,
    )
