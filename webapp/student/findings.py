""""What was found", in plain words: the list under a badge, from one StepResult.

A student reads what labgrader observed (``StepResult.found``: "Resource group 'ODL-1': 2 Custom Vision
resources: ..."), then anything else to fix besides the step's message. No raw evidence, no check ids, no
status chips: a follow-on ("no project, so its domain cannot be checked") and an advisory check's finding
(already in the advice) are left out, and a sentence is said once however many checks said it. The raw
outcomes and their evidence are for proctors (:func:`technical`, behind "Technical details").
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.outcome import Outcome, Status
from checks.summary import causes, is_follow_on
from validator import StepResult


@dataclass(frozen=True)
class Finding:
    """One line: ``text``, led by ``label`` in words when it is not a plain observation."""

    text: str
    kind: str = "seen"  # seen: observed; fix: another thing to fix; unchecked: could not be checked
    label: str | None = None


def findings(result: StepResult) -> list[Finding]:
    """The plain list for ``result``'s "What was found" (empty when there is nothing worth listing).

    Results recorded before labgrader wrote ``found`` sentences fall back to their checks' sentences
    (causes only, each once).
    """
    shown: list[Finding] = []
    said = {result.message}

    def add(finding: Finding) -> None:
        if finding.text not in said:
            said.add(finding.text)
            shown.append(finding)

    if result.found:
        for line in result.found:
            add(Finding(line))
    else:
        for o in causes(result.checks):
            if o.status is Status.PASS:
                add(Finding(o.message))
            elif o.status is Status.ERROR:
                add(Finding(o.message, "unchecked", "Not checked:"))
    # The step's message names one thing to fix; another independent cause is said here, with its fix.
    if result.status is Status.FAIL:
        for o in causes(result.checks):
            if o.status is Status.FAIL and o.message != result.message:
                add(Finding(" ".join(p for p in (o.message, o.hint) if p), "fix", "Also to fix:"))
    return shown


@dataclass(frozen=True)
class Technical:
    """One check's raw outcome for a proctor: its id, status, sentence and evidence; ``follow_on`` when it
    only follows from another check of the step (shown as such, not as a second FAIL)."""

    outcome: Outcome
    follow_on: bool


def technical(result: StepResult) -> list[Technical]:
    """Every check outcome of ``result``, marked when it is a follow-on (:func:`checks.summary.is_follow_on`)."""
    return [Technical(o, is_follow_on(o, result.checks)) for o in result.checks]


def register(app) -> None:
    """Make :func:`findings` and :func:`technical` available to every template (badges, proctor pages)."""
    app.add_template_global(findings, "findings")
    app.add_template_global(technical, "technical_details")
