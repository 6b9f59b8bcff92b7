"""A check, the context it runs in, and :func:`run_check`, the one way to run one.

A check is a pure function ``evaluate(facts, expect, ctx) -> Outcome`` with declarative metadata (id,
title, the facts it reads and those it requires, its severity). ``run_check`` guards it: unobservable facts
become ERROR with a not-your-fault sentence, a required fact that is absent becomes the FAIL naming the task
that creates it, templated expectations are rendered, a bug becomes ERROR too, and the outcome of an
advisory check is marked so it never decides a step's status.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from checks import facts as F
from checks import registry
from checks.expect import BOOLEAN, ExpectationError, Key, check_expect, plain, resolve
from checks.outcome import RECHECK_AFTER, Outcome, Status

log = logging.getLogger(__name__)

Evaluate = Callable[[F.Snapshot, Mapping[str, Any], "Context"], Outcome]


@dataclass(frozen=True)
class Context:
    """What a check may know besides facts.

    ``inject``: the attendee's inject values (for templated expectations). ``now``: the time of the run
    (PENDING durations). ``resource_group``: the attendee's resource group. ``task_titles``: task label
    -> title ("1" -> "Create a Custom Vision resource"). ``check_tasks``: check id -> the task label of
    the lab step that runs it (to name prerequisites). ``params``: fact name -> the lab parameter used to
    gather or select it (``checks.params.lab_parameters``), e.g. the expected project name.
    """

    inject: Mapping[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    resource_group: str | None = None
    task_titles: Mapping[str, str] = field(default_factory=dict)
    check_tasks: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    lab: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def expected(self, check_id: str, key: str) -> Any:
        """What the lab expects of ``key`` of check ``check_id`` (its declared default when the lab does not
        say, or when what it says is unusable: that check reports the problem itself)."""
        check = registry.get(check_id)
        try:
            return check.expectations(self.lab.get(check_id), self.inject)[key]
        except ExpectationError:
            k = check.declared(key)
            return None if k.default is None else k.type.coerce(plain(k.default))


def prerequisite_missing(task: str | None, what: str, *, title: str | None = None,
                         check_id: str = "prerequisite") -> Outcome:
    """FAIL: "Complete Task 1 first: <what>." ``what`` is a clause without a final period."""
    what = what.rstrip(".")
    if task:
        message = f"Complete Task {task} first: {what}."
        named = f"Task {task} ({title})" if title else f"Task {task}"
        hint = f"Go back to {named} in the lab guide, finish it and validate it, then validate this step again."
    else:
        message = f"Complete the earlier task first: {what}."
        hint = "Go back to the earlier tasks in the lab guide, finish them, then validate this step again."
    return Outcome(check_id, Status.FAIL, message, hint, {"prerequisite_task": task})


# -- helpers checks use to build outcomes (run_check stamps the check id) -------------------------------

def passed(message: str, evidence: Mapping[str, Any] | None = None, advice: Sequence[str] = ()) -> Outcome:
    return Outcome("", Status.PASS, message, None, dict(evidence or {}), tuple(advice))


def failed(message: str, hint: str | None = None, evidence: Mapping[str, Any] | None = None,
           advice: Sequence[str] = (), *, follows_from: str | None = None) -> Outcome:
    """FAIL; ``follows_from``: the id of the check this outcome only follows from (``Outcome.follows_from``)."""
    return Outcome("", Status.FAIL, message, hint, dict(evidence or {}), tuple(advice), follows_from=follows_from)


def pending(message: str, hint: str, evidence: Mapping[str, Any] | None = None, *,
            recheck_after: int = RECHECK_AFTER) -> Outcome:
    """PENDING: work in progress. ``hint`` says what the student does meanwhile, never when to validate
    again: that is ``recheck_after`` seconds, which each surface words itself."""
    return Outcome("", Status.PENDING, message, hint, dict(evidence or {}), recheck_after=recheck_after)


def errored(message: str, hint: str | None = None, evidence: Mapping[str, Any] | None = None) -> Outcome:
    return Outcome("", Status.ERROR, message, hint or _NOT_YOUR_FAULT_HINT, dict(evidence or {}))


# -- the check ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    """A registered check. ``id`` is ``<area>_<resource>_<expectation>``, as lab.yaml names it."""

    id: str
    title: str
    reads: tuple[str, ...]
    fn: Evaluate = field(repr=False)
    severity: str = "required"
    unobserved_advice: str | None = None
    uses: tuple[str, ...] = ()
    """Facts the check reads when its step has them anyway (another check of the step reads them): never
    gathered for this check alone (no extra Azure call), and one that is missing or could not be observed
    never makes the check an ERROR: it judges without (``facts.get`` may give None or a FactUnavailable)."""
    requires: tuple[Requirement, ...] = ()
    """Facts (among ``reads``) the check cannot judge without: when one is absent (None: not created yet),
    :func:`run_check` answers the FAIL naming the task that creates it (or the earliest absent fact it depends
    on) instead of calling the check (``facts.Fact.produced_by``, ``facts.Fact.missing``)."""
    named: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = field(default=None, repr=False)
    """For a check whose expectation names what it reads (a resource type, ``checks.resources``):
    ``named(expect)`` -> fact name -> the lab parameter to gather that fact with (or None)."""

    def reads_for(self, expect: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The facts the check reads under ``expect``: ``reads`` and those its expectation names."""
        extra = [f for f in (self.named(expect or {}) if self.named else ()) if f not in self.reads]
        return (*self.reads, *extra)

    def parameters_for(self, expect: Mapping[str, Any] | None) -> dict[str, Any]:
        """fact -> lab parameter for the facts ``expect`` names (see :attr:`named`); empty for most checks."""
        return {k: v for k, v in (self.named(expect or {}) if self.named else {}).items() if v is not None}
    expects: tuple[Key, ...] | None = None
    """The keys lab.yaml's ``expect`` may give this check (``checks.expect.Key``); None: not declared yet
    (``expect`` then reaches the check as written, unchecked)."""

    def __post_init__(self) -> None:
        # A plain fact stands for a requirement without a purpose.
        object.__setattr__(self, "requires", tuple(
            r if isinstance(r, Requirement) else Requirement(r) for r in self.requires))
        for r in self.requires:
            if r.fact not in self.reads or r.fact.missing is None:
                raise ValueError(f"check {self.id} requires {r.fact!r}, which it must read and whose declaration "
                                 "must say which check produces it")
        if self.severity not in SEVERITIES:
            raise ValueError(f"check {self.id}: severity must be one of {SEVERITIES}, not {self.severity!r}")
        if self.expects is not None:
            names = [k.name for k in self.expects]
            if len(set(names)) != len(names):
                raise ValueError(f"check {self.id} declares an expectation key twice: {names}")

    def declaration_problems(self) -> list[str]:
        """Each declared default or example its own key refuses, in words (empty: none). Such a value is a bug
        in the check: the tests, ``labgrader guide lint`` and ``labgrader checks list`` say so. Registration
        leaves it to them, so that loading the checks validates nothing (no JSON Schema in every process)."""
        out = []
        for k in self.expects or ():
            for what, value in (("default", k.default), ("example", k.example)):
                bad = [] if value is None else [
                    p for p in check_expect(self.id, self.expects, {k.name: plain(value)}) if p.key == k.name]
                if bad:
                    out.append(f"check {self.id}: the {what} of {k.name!r} is invalid: {bad[0].message}")
        return out

    def declared(self, name: str) -> Key:
        """The declaration of expectation key ``name``; ``KeyError`` if the check does not take it."""
        for k in self.expects or ():
            if k.name == name:
                return k
        raise KeyError(f"check {self.id} takes no expectation {name!r}")

    def expectations(self, expect: Mapping[str, Any] | None, inject: Mapping[str, Any] | None = None) -> Any:
        """``expect`` as the check reads it (``checks.expect.resolve``): templates rendered with ``inject``
        (when given), checked against the declaration, defaults applied. Raises ``ExpectationError``.
        An undeclared check gets ``expect`` as written (rendered)."""
        if self.expects is None:
            from checks.expect import render

            raw = dict(expect or {})
            return render(raw, inject) if inject is not None else raw
        return resolve(self.id, self.expects, expect, inject)

    def example(self) -> dict[str, Any]:
        """A lab.yaml entry running this check: its id and an ``expect`` of every key with an example (and
        every required key)."""
        expect = {k.name: plain(k.example) for k in self.expects or () if k.example is not None}
        return {"id": self.id, **({"expect": expect} if expect else {})}

    def advisory(self, expect: Mapping[str, Any]) -> bool:
        """Whether this check only advises: severity "advice", unless the lab sets ``fail: true``."""
        return self.severity == "advice" and expect.get("fail") is not True

    def evaluate(self, facts: Mapping[str, Any], expect: Mapping[str, Any], ctx: Context) -> Outcome:
        """Call the check's function directly (no guards; see :func:`run_check`), stamping its id. ``expect``
        is resolved through the declaration first (without rendering templates) unless it already is."""
        out = self.fn(as_snapshot(facts), self.expectations(expect), ctx)
        if not isinstance(out, Outcome):
            raise TypeError(f"check {self.id} returned {type(out).__name__}, not an Outcome")
        return replace(out, check_id=self.id)


@dataclass(frozen=True)
class Requirement:
    """A fact a check requires (:attr:`Check.requires`). ``purpose`` ends the sentence saying it is missing,
    for facts whose sentence names it ("project 'X' has no trained iteration to export yet")."""

    fact: F.Fact[Any]
    purpose: str = ""


def as_snapshot(facts: Mapping[str, Any]) -> F.Snapshot:
    return facts if isinstance(facts, F.Snapshot) else F.Snapshot(facts)


SEVERITIES = ("required", "advice")
"""required: the check's status counts for its step. advice: a non-PASS outcome is shown as advice only
(see :func:`run_check`), unless the lab's expectation says ``fail: true``."""


FAIL_KEY = Key("fail", BOOLEAN, "Count what this advisory check finds against the step, instead of showing it "
                               "as advice.", default=False, example=False)
"""Declared by every advisory check (:data:`SEVERITIES`)."""


def check(id: str, *, title: str, reads: Sequence[F.Fact[Any]], severity: str = "required",
          unobserved_advice: str | None = None, uses: Sequence[F.Fact[Any]] = (),
          requires: Sequence[F.Fact[Any] | Requirement] = (),
          named: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
          expects: Sequence[Key] | None = None) -> Callable[[Evaluate], Check]:
    """Decorator: make a :class:`Check` of an evaluate function and register it under ``id``.

    ``unobserved_advice``: for an advisory check, the advice shown when its facts could not be observed
    (default: "labgrader could not check this time whether <title, lowercased>."). ``uses``: facts read
    when available (:attr:`Check.uses`). ``requires``: facts it cannot judge without (:attr:`Check.requires`;
    a :class:`Requirement` to give the sentence a purpose). ``named``: facts the expectation names
    (:attr:`Check.named`).
    ``expects``: the keys its lab.yaml ``expect`` takes (``checks.expect.Key``; ``()`` for none); an advisory
    check also takes ``fail`` (:data:`FAIL_KEY`).
    """
    unknown = [r for r in (*reads, *uses) if not isinstance(r, F.Fact) or r not in F.ALL]
    if unknown:
        raise ValueError(f"check {id} reads undeclared fact(s) {unknown}")
    keys = None if expects is None else tuple(expects)
    if keys is not None and severity == "advice" and all(k.name != "fail" for k in keys):
        keys = (*keys, FAIL_KEY)

    def wrap(fn: Evaluate) -> Check:
        c = Check(id=id, title=title, reads=tuple(reads), fn=fn, severity=severity,
                  unobserved_advice=unobserved_advice, uses=tuple(uses), requires=tuple(requires), named=named,
                  expects=keys)
        registry.register(c)
        return c

    return wrap


# -- running --------------------------------------------------------------------------------------------

_NOT_YOUR_FAULT_HINT = "This is not a problem with your work: press Validate again in a minute."

UNAVAILABLE_MESSAGES: dict[str, tuple[str, str]] = {
    # message: what happened (no blame); hint: the one sentence that says it is not the student's work
    # and what to do. Only the hint says "not a problem with your work", so the badge never repeats it.
    "throttled": (
        "Azure is throttling requests right now (HTTP 429).",
        "This is not a problem with your work: try Validate again in a minute.",
    ),
    "busy": (
        "labgrader is pacing its calls to your Custom Vision resource (the free tier allows 2 per second), "
        "and too many checks are waiting right now.",
        "This is not a problem with your work: try Validate again in a few seconds.",
    ),
    "timeout": (
        "Azure did not answer in time.",
        "This is not a problem with your work: try Validate again in a minute.",
    ),
    "unavailable": (
        "Azure returned a server error or dropped the connection.",
        "This is not a problem with your work: try Validate again in a few minutes.",
    ),
    "permission": (
        "labgrader is not allowed to read your lab resources.",
        "This is not a problem with your work: tell your proctor, who can fix labgrader's access.",
    ),
    "quota": (
        "Your Custom Vision resource has used up its call quota for now, so labgrader could not read it.",
        "This is not a problem with your work: the quota refills on its own, so try Validate again later; "
        "if this keeps happening, tell your proctor.",
    ),
    "credentials": (
        "The credentials labgrader was given for your lab environment were rejected.",
        "This is not a problem with your work: tell your proctor, who can fix labgrader's credentials.",
    ),
    "not_found": (
        "labgrader cannot find your lab's resource group or subscription.",
        "This is not a problem with your work, and pressing Validate again will not help: tell your proctor, "
        "who can check your lab environment.",
    ),
    "internal": (
        "labgrader hit an internal error while looking at your resources.",
        "This is not a problem with your work: try Validate again; if it keeps happening, tell your proctor.",
    ),
}

# Key-shaped strings (32+ hex digits) never reach evidence, even if a gateway put one in a detail.
_SECRETISH = re.compile(r"\b[0-9a-fA-F]{32,}\b")


def unavailable_outcome(check_id: str, fu: F.FactUnavailable, resource_group: str | None = None) -> Outcome:
    """The standard ERROR for a fact labgrader could not observe (``resource_group`` names it for not_found)."""
    message, hint = UNAVAILABLE_MESSAGES.get(fu.kind, UNAVAILABLE_MESSAGES["unavailable"])
    if fu.kind == "not_found" and resource_group:
        message = f"labgrader cannot find your lab's resource group '{resource_group}' or its subscription."
    evidence = {"fact": fu.fact, "kind": fu.kind, "detail": _SECRETISH.sub("***", fu.detail or "")}
    if fu.kind == "permission" and (fu.action or fu.remedy):
        # Worded for the proctor, who can fix it: the action refused and the role that grants it.
        if fu.action:
            message = f"labgrader's Azure identity is not allowed to perform {fu.action} on your lab's resources."
            evidence["action"] = fu.action
        hint = f"{hint} For the proctor: {fu.remedy}" if fu.remedy else hint
    return Outcome(check_id, Status.ERROR, message, hint, evidence)


def internal_error(check_id: str, what: str) -> Outcome:
    return Outcome(
        check_id, Status.ERROR,
        f"labgrader hit an internal error while checking this ({what}).",
        "This is not a problem with your work: try Validate again; if it keeps happening, tell your proctor.",
        {"internal": what},
    )


def run_check(check: Check | str, facts: Mapping[str, Any], expect: Mapping[str, Any] | None,
              ctx: Context | None = None) -> Outcome:
    """Run one check over a fact snapshot; never raises.

    ERROR (and ``evaluate`` is not called) when a fact the check reads, or one it depends on, is a
    :class:`FactUnavailable` or was not gathered, or when the expectation cannot be rendered; the
    prerequisite FAIL (:func:`prerequisite_for`) when a fact it requires is absent. An exception inside
    ``evaluate`` is logged and becomes ERROR as well: a grader bug is never a FAIL.
    The outcome of an advisory check (:meth:`Check.advisory`) is marked ``advisory``; when it is not PASS,
    what it found leads its advice, so the step shows it without taking its status.
    """
    if isinstance(check, str):
        check = registry.get(check)
    ctx = ctx or Context()
    try:
        resolved: Any = check.expectations(expect, ctx.inject)
    except ExpectationError as exc:
        resolved = exc  # an ERROR naming the bad rule, once the facts are known to be there
    out = _run_guarded(check, facts, expect, resolved, ctx)
    # A bad rule is already an ERROR naming it; let it decide the step.
    advisory = not isinstance(resolved, ExpectationError) and check.advisory(resolved)
    if not advisory:
        return out
    if out.status is Status.PASS:
        return replace(out, advisory=True)
    if out.status is Status.ERROR:
        note = check.unobserved_advice or f"labgrader could not check this time whether {_lower_first(check.title)}."
    else:
        note = " ".join(p for p in (out.message, out.hint) if p)
    return replace(out, advisory=True, advice=(note, *out.advice))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _run_guarded(check: Check, facts: Mapping[str, Any], expect: Mapping[str, Any] | None,
                 resolved: Any, ctx: Context) -> Outcome:
    reads = check.reads_for(expect)
    # Dependencies first, so the ERROR names the root cause (accounts throttled, not "project").
    for name in F.closure(reads):
        value = facts.get(name)
        if isinstance(value, F.FactUnavailable):
            return unavailable_outcome(check.id, value, ctx.resource_group)
    missing = [name for name in reads if name not in facts]
    if missing:
        log.error("check %s ran without fact(s) %s", check.id, missing)
        return internal_error(check.id, f"fact {', '.join(missing)} was not gathered")
    if isinstance(resolved, ExpectationError):  # the lab author's lab.yaml (``guide lint`` says so too)
        log.error("check %s: %s", check.id, resolved)
        return internal_error(check.id, str(resolved))
    absent = prerequisite_for(check, facts, ctx)
    if absent is not None:
        return absent
    try:
        return check.evaluate(facts, resolved, ctx)
    except ExpectationError as exc:  # a malformed rule in lab.yaml: the lab author's fix, not the student's
        log.error("check %s: %s", check.id, exc)
        return internal_error(check.id, str(exc))
    except Exception as exc:
        log.exception("check %s raised", check.id)
        return internal_error(check.id, type(exc).__name__)


def prerequisite_for(check: Check, facts: Mapping[str, Any], ctx: Context) -> Outcome | None:
    """The FAIL for the first fact ``check`` requires that is absent, or None when all are there.

    It names the earliest absent fact the requirement depends on that some task produces (no training
    resource, before no project), and the task of the step that runs its producing check.
    """
    for required in check.requires:
        for fact in F.closure((required.fact,)):  # dependencies first
            if fact.missing is None or fact not in facts or facts[fact] is not None:
                continue
            what = fact.missing(facts, ctx, required.purpose if fact == required.fact else "")
            task = ctx.check_tasks.get(fact.produced_by or "")
            out = prerequisite_missing(task, what, title=ctx.task_titles.get(task) if task else None)
            return replace(out, check_id=check.id)
    return None
