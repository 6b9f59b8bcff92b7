"""What one validation observed, in plain words and by identity.

:func:`describe` turns a fact snapshot into the short sentences a student reads under "What was found"
("Resource group 'ODL-1': 2 Custom Vision resources: 'customvision-casting-1' (training, F0, eastus), ...").
Every name and number in them comes from the facts; the words around them are the portal's. One sentence
per fact a step's checks read, in ``facts.ALL`` order; a fact labgrader could not observe is one sentence
for its root cause, never one per check.

:func:`identities` names the derived facts a validation judged (the training resource, the project, the
iterations) by identity, so a PASS can be told apart from one judged on resources that have since changed
(a retrain makes a new trained iteration; a project made again has a new id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from checks import facts as F
from checks.expect import loose
from checks.select import PREDICTION_KIND, TRAINING_KIND, in_group, is_kind
from checks.wording import joined, pct, plural, quoted

IDENTIFIED = (F.TRAINING_ACCOUNT, F.PROJECT, F.LATEST_ITERATION, F.TRAINED_ITERATION)
"""The derived facts :func:`identities` records: what a step's verdict is about."""

_UNREAD = {
    F.ACCOUNTS: "the Azure AI resources in {where}",
    F.DELETED_ACCOUNTS: "the deleted resources of {where}",
    F.DOMAINS: "the Custom Vision domains",
    F.PROJECTS: "the Custom Vision projects",
    F.TAGS: "the project's tags",
    F.UNTAGGED_COUNT: "how many of the project's images are untagged",
    F.ITERATIONS: "the project's training iterations",
    F.PERFORMANCE: "the trained iteration's performance",
    F.PREDICTIONS: "the project's Quick Test results",
    F.IMAGES: "the project's images and their regions",
    F.DETECTION_PERFORMANCE: "the trained iteration's performance",
    F.PREDICTION_IMAGES: "the images of your Quick Tests",
}


def describe(facts: Mapping[str, Any], reads: Iterable[str], resource_group: str | None = None) -> list[str]:
    """Plain sentences for the facts in ``reads`` (the facts a step's checks read), in ``facts.ALL`` order.

    A fact that is None (its source does not exist yet) says nothing here: the step's message names what is
    missing. Raises nothing for well-formed facts; the caller still guards it (a grader bug must not cost
    the student a verdict).
    """
    wanted = set(reads)
    lines: list[str] = []
    unread: list[str] = []
    for name in F.ALL:
        if name not in wanted or name not in facts:
            continue
        value = facts[name]
        if isinstance(value, F.FactUnavailable):
            root = _root_unavailable(name, facts)
            if root not in unread:
                unread.append(root)
            continue
        line = _DESCRIBE.get(name, _nothing)(value, facts, wanted, resource_group)
        if line:
            lines.append(line)
    # The resources of the types the declarative checks name (checks.resources), in the order they are read.
    for name in dict.fromkeys(n for n in reads if F.resource_type_of(n) is not None):
        value = facts.get(name)
        if isinstance(value, F.FactUnavailable):
            if name not in unread:
                unread.append(name)
        elif value:
            lines.append(_resources(value, resource_group))
    where = f"resource group '{resource_group}'" if resource_group else "your resource group"
    for root in unread:
        what = _UNREAD.get(root, "some of your resources").format(where=where)
        lines.append(f"labgrader could not read {what} this time.")
    return lines


def identities(facts: Mapping[str, Any], reads: Iterable[str]) -> dict[str, str | None]:
    """fact name -> identity, for each :data:`IDENTIFIED` fact a step's checks read (directly or through
    their dependencies) and labgrader observed: the training resource's ARM id (its name when ARM gave
    none), the project's or iteration's id; None when it was observed not to exist. Unobserved facts are
    left out: they say nothing about what exists."""
    out: dict[str, str | None] = {}
    for name in F.closure(reads):
        if name not in IDENTIFIED or name not in facts or isinstance(facts[name], F.FactUnavailable):
            continue
        value = facts[name]
        if value is None:
            out[str(name)] = None
        elif isinstance(value, F.AccountFact):
            out[str(name)] = (value.resource_id or value.name).casefold()
        else:
            out[str(name)] = str(value.id)
    return out


# -- one sentence per fact ------------------------------------------------------------------------------

def _root_unavailable(name: str, facts: Mapping[str, Any]) -> str:
    """The deepest unobservable fact ``name`` depends on (itself when its dependencies were observed)."""
    for dep in F.declaration(name).depends_on:
        if isinstance(facts.get(dep), F.FactUnavailable):
            return _root_unavailable(dep, facts)
    return name


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _nothing(*_: Any) -> None:
    return None


def _role(a: F.AccountFact) -> str:
    if is_kind(a, TRAINING_KIND):
        return "training"
    if is_kind(a, PREDICTION_KIND):
        return "prediction"
    return a.kind or "unknown kind"


def _account(a: F.AccountFact, role: bool = True) -> str:
    parts = [_role(a)] if role else []
    parts += [p for p in (a.sku, a.location) if p]
    state = a.provisioning_state or ""
    if a.deleted_at is not None:
        parts.append(f"deleted on {a.deleted_at:%d %B at %H:%M} UTC")
    elif state and loose(state) != "succeeded":
        parts.append(f"provisioning state {state}")
    return f"'{a.name}' ({', '.join(parts)})"


def _accounts(value: list[F.AccountFact], facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str:
    group = in_group(value or [], rg)
    where = f"Resource group '{rg}'" if rg else "Your resource group"
    cv = [a for a in group if is_kind(a, TRAINING_KIND) or is_kind(a, PREDICTION_KIND)]
    other = [a for a in group if a not in cv]
    if not group:
        return f"{where} has no Custom Vision resources."
    parts = []
    if cv:
        parts.append(f"{plural(len(cv), 'Custom Vision resource')}: {joined((_account(a) for a in cv), 8)}")
    else:
        parts.append("no Custom Vision resources")
    if other:
        parts.append(f"{plural(len(other), 'other Azure AI resource')}: {joined((_account(a) for a in other), 8)}")
    return f"{where}: {'; '.join(parts)}."


def _deleted(value: list[F.AccountFact], facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str | None:
    gone = in_group(value or [], rg)
    if not gone:
        return None
    return f"Deleted and not yet purged: {joined(_account(a) for a in gone)}."


def _training(value: F.AccountFact | None, facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str | None:
    if value is None or F.ACCOUNTS in reads:
        return None  # missing: the message says so; listed with the others: said already
    return f"Custom Vision training resource {_account(value, role=False)}."


def _projects(value: list[F.ProjectFact], facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str:
    account = facts.get(F.TRAINING_ACCOUNT)
    owner = f"Custom Vision resource '{account.name}'" if isinstance(account, F.AccountFact) else "The resource"
    if not value:
        return f"{owner} has no projects yet."
    return f"{owner} has {plural(len(value), 'project')}: {quoted((p.name for p in value), 8)}."


def _project(value: F.ProjectFact | None, facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str | None:
    if value is None or F.DOMAINS not in reads:
        return None  # later steps name the project in their own sentences
    domains = facts.get(F.DOMAINS)
    domain = next((d for d in domains if d.id.casefold() == (value.domain_id or "").casefold()), None) \
        if isinstance(domains, list) else None
    parts = []
    if domain is not None:
        parts.append("Object Detection" if loose(domain.type) == "objectdetection" else domain.type)
    if value.classification_type:
        parts.append(value.classification_type)
    parts.append(f"domain '{domain.name}'" if domain is not None else "domain unknown")
    platforms = ", ".join(value.target_export_platforms)
    parts.append(f"Export Capabilities: {platforms or 'Basic platforms'}")
    description = (value.description or "").strip()
    parts.append(f"description '{description}'" if description else "no description")
    return f"Project '{value.name}': {', '.join(parts)}."


def _project_name(facts: Mapping[str, Any]) -> str:
    project = facts.get(F.PROJECT)
    return f"project '{project.name}'" if isinstance(project, F.ProjectFact) else "the project"


def _tags(value: list[F.TagFact], facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str:
    where = _project_name(facts)
    if not value:
        return f"{_cap(where)} has no tags yet."
    shown = joined((f"'{t.name}' ({plural(t.image_count, 'image')})" for t in value), 8)
    return f"{_cap(where)} has {plural(len(value), 'tag')}: {shown}."


def _untagged(value: int | None, facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str:
    n = int(value or 0)
    if n == 0:
        return f"No image in {_project_name(facts)} is untagged."
    return f"{plural(n, 'image')} in {_project_name(facts)} {'has' if n == 1 else 'have'} no tag."


def _iteration(it: F.IterationFact) -> str:
    parts = [it.status]
    if it.training_type:
        parts.append({"regular": "Quick Training", "advanced": "Advanced Training"}.get(
            loose(it.training_type), it.training_type))
    if loose(it.status) == "completed":
        parts.append(f"exportable to {joined(it.exportable_to, 8)}" if it.exportable and it.exportable_to
                     else "not exportable")
    return f"'{it.name}' ({', '.join(parts)})"


def _latest(value: F.IterationFact | None, facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str | None:
    if value is None:
        return f"{_cap(_project_name(facts))} has no iterations yet." \
            if isinstance(facts.get(F.PROJECT), F.ProjectFact) else None
    return f"Newest iteration of {_project_name(facts)}: {_iteration(value)}."


def _trained(value: F.IterationFact | None, facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str | None:
    latest = facts.get(F.LATEST_ITERATION)
    if F.LATEST_ITERATION in reads and (latest is None or isinstance(latest, F.FactUnavailable)
                                        or (value is not None and latest.id == value.id)):
        return None  # the newest iteration's sentence says it all
    if value is None:
        if not isinstance(facts.get(F.PROJECT), F.ProjectFact):
            return None
        return f"{_cap(_project_name(facts))} has no trained iteration yet."
    return f"Newest trained iteration of {_project_name(facts)}: {_iteration(value)}."


def _performance(value: F.PerformanceFact | None, facts: Mapping[str, Any], reads: set[str],
                 rg: str | None) -> str | None:
    if value is None:
        return None  # not read while a retrain runs
    trained = facts.get(F.TRAINED_ITERATION)
    named = f"iteration '{trained.name}'" if isinstance(trained, F.IterationFact) else "the trained iteration"
    per_tag = "; ".join(f"'{t.name}': precision {pct(t.precision)}, recall {pct(t.recall)}" for t in value.per_tag)
    return (f"At the {pct(value.threshold)} probability threshold, {named} has precision {pct(value.precision)} "
            f"and recall {pct(value.recall)}" + (f" ({per_tag})." if per_tag else "."))


def _predictions(value: list[F.PredictionFact] | None, facts: Mapping[str, Any], reads: set[str],
                 rg: str | None) -> str | None:
    if value is None:
        return None  # not read while a retrain runs
    where = _project_name(facts)
    if not value:
        return f"No Quick Test results are stored for {where}."
    trained = facts.get(F.TRAINED_ITERATION)
    if isinstance(trained, F.IterationFact):
        here = [p for p in value if p.iteration_id in (None, trained.id)]
        older = len(value) - len(here)
        tops = joined(f"'{p.top_tag}' ({pct(p.top_probability)})" for p in here)
        text = (f"{plural(len(here), 'Quick Test result')} on iteration '{trained.name}'"
                + (f", top predictions: {tops}" if here else ""))
        if older:
            text += f"; {older} on older iterations"
        return f"{_cap(text)}."
    return f"{plural(len(value), 'Quick Test result')} stored for {where}."


def _images(value: F.ImagesFact | None, facts: Mapping[str, Any], reads: set[str], rg: str | None) -> str | None:
    if value is None:
        return None
    where = _project_name(facts)
    if not value.images:
        return f"{_cap(where)} has no images yet."
    per_tag: dict[str, int] = {}
    bare = 0
    for image in value.images:
        # Each tag once per image, in region order: a set's order changes with each process's string hashing.
        for name in dict.fromkeys(r.tag for r in image.regions):
            per_tag[name] = per_tag.get(name, 0) + 1
        bare += not image.regions
    total = plural(len(value.images), "image") + ("" if value.complete else " or more")
    regions = joined((f"{plural(n, 'image')} with a '{t}' region" for t, n in per_tag.items()), 8)
    parts = [regions] if regions else []
    if bare:
        parts.append(f"{bare} without a region")
    return f"{_cap(where)} has {total}: {', '.join(parts)}."


def _detection_performance(value: F.PerformanceFact | None, facts: Mapping[str, Any], reads: set[str],
                           rg: str | None) -> str | None:
    if value is None:
        return None  # not read while a retrain runs
    trained = facts.get(F.TRAINED_ITERATION)
    named = f"iteration '{trained.name}'" if isinstance(trained, F.IterationFact) else "the trained iteration"
    return (f"At the {pct(value.threshold)} probability threshold and {pct(value.overlap_threshold)} overlap "
            f"threshold, {named} has precision {pct(value.precision)}, recall {pct(value.recall)} and mAP "
            f"{pct(value.average_precision)}.")


def _resources(value: list[F.ResourceFact], rg: str | None) -> str:
    """"Resource group 'rg': 1 Microsoft.Storage/storageAccounts resource: 'st1' (StorageV2, Standard_LRS,
    eastus)." (a list that is empty says nothing: the step's message names what is missing)."""
    where = f"Resource group '{rg}'" if rg else "Your resource group"
    described = []
    for r in value:
        parts = [p for p in (r.kind, r.sku_name, r.location) if p]
        if r.provisioning_state and loose(r.provisioning_state) != "succeeded":
            parts.append(f"provisioning state {r.provisioning_state}")
        described.append(f"'{r.name}'" + (f" ({', '.join(parts)})" if parts else ""))
    return f"{where}: {plural(len(value), f'{value[0].type} resource')}: {joined(described, 8)}."


_DESCRIBE = {
    F.ACCOUNTS: _accounts,
    F.DELETED_ACCOUNTS: _deleted,
    F.TRAINING_ACCOUNT: _training,
    F.PROJECTS: _projects,
    F.PROJECT: _project,
    F.TAGS: _tags,
    F.UNTAGGED_COUNT: _untagged,
    F.LATEST_ITERATION: _latest,
    F.TRAINED_ITERATION: _trained,
    F.PERFORMANCE: _performance,
    F.PREDICTIONS: _predictions,
    F.IMAGES: _images,
    F.DETECTION_PERFORMANCE: _detection_performance,
}
