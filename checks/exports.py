"""Task 6: the trained iteration can be exported to the lab's platforms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks import facts as F
from checks.base import Context, Requirement, check, failed, passed
from checks.expect import TEXT_LIST, Key, loose
from checks.iterations import training_name
from checks.outcome import Outcome
from checks.projects import EXPORT_PLATFORMS
from checks.wording import joined

_COMPACT = ("In customvision.ai, open the project's settings (gear icon), choose a compact domain such as "
            "General (compact), save, then click Train and choose {training} again.")


@check("iteration_exportable", title="The trained iteration is exportable to the lab's platforms",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.TRAINED_ITERATION),
       requires=(F.PROJECT, Requirement(F.TRAINED_ITERATION, "to export")),
       expects=(Key("platforms", TEXT_LIST, "Platforms the trained iteration must be exportable to (default: any).",
                    default=(), allowed=EXPORT_PLATFORMS, example=["TensorFlow", "CoreML", "ONNX"]),))
def iteration_exportable(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project = facts[F.PROJECT]
    it = facts[F.TRAINED_ITERATION]
    want = list(expect["platforms"])
    have = list(it.exportable_to)
    ev = {"project": project.name, "iteration": it.name, "iteration_id": it.id, "exportable": it.exportable,
          "exportable_to": have, "expected_platforms": want}
    if not it.exportable:
        return failed(
            f"Iteration '{it.name}' of project '{project.name}' cannot be exported: only models trained on a "
            "compact domain can be.",
            _COMPACT.format(training=training_name(ctx)), ev,
        )
    missing = [p for p in want if loose(p) not in {loose(h) for h in have}]
    if missing:
        shown = joined(have) if have else "no platform"
        return failed(
            f"Iteration '{it.name}' of project '{project.name}' can be exported to {shown}, but not to "
            f"{joined(missing)}.",
            "In customvision.ai, open the project's settings (gear icon), choose Export Capabilities: Basic "
            f"platforms, save, then click Train and choose {training_name(ctx)} again.",
            ev,
        )
    targets = joined(want) if want else joined(have)
    return passed(f"Iteration '{it.name}' of project '{project.name}' can be exported to {targets}.", ev)
