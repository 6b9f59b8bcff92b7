"""Task 2: the Custom Vision project (name, description, type, classification type, domain, export)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks import facts as F
from checks.base import Context, check, errored, failed, passed
from checks.expect import TEMPLATE, TEXT, TEXT_LIST, Key, loose
from checks.outcome import Outcome
from checks.select import matching_projects
from checks.wording import quoted

_SETTINGS = "open the project's settings (gear icon at the top of customvision.ai)"
_PLATFORM_NAMES = {"vaidk": "Vision AI Dev Kit"}
# Custom Vision's export platforms (Training API 3.4 ExportPlatform).
EXPORT_PLATFORMS = ("CoreML", "TensorFlow", "DockerFile", "ONNX", "VAIDK", "OpenVino")
PROJECT_TYPES = ("Classification", "ObjectDetection")


def _type_key_of(default: str) -> Key:
    return Key("type", TEXT, "The project type the lab asks for.", default=default, allowed=PROJECT_TYPES,
               example=default)


def _project_here(facts: F.Snapshot, what: str) -> tuple[F.ProjectFact | None, Outcome | None]:
    """The project for this task's own checks; when missing, project_exists already says how to fix it."""
    project = facts[F.PROJECT]
    if project is None:
        return None, failed(
            f"No Custom Vision project with the lab's name was found, so its {what} cannot be checked.",
            "Create the project as this task describes, then validate again.",
            follows_from="project_exists",
        )
    return project, None


def _domain(project: F.ProjectFact, domains: list[F.DomainFact]) -> F.DomainFact | None:
    return next((d for d in domains if d.id.casefold() == (project.domain_id or "").casefold()), None)


def _unknown_domain(project: F.ProjectFact) -> Outcome:
    # The domain list comes from the same service; an id missing from it is labgrader's blind spot.
    return errored(
        f"labgrader could not look up the domain of project '{project.name}' (domain id {project.domain_id} "
        "is not in the service's domain list).",
        "This is not a problem with your work: try Validate again; if it keeps happening, tell your proctor.",
        {"project": project.name, "domain_id": project.domain_id},
    )


@check("project_exists", title="The lab's Custom Vision project exists",
       reads=(F.TRAINING_ACCOUNT, F.PROJECTS), requires=(F.TRAINING_ACCOUNT,),
       expects=(Key("name", TEMPLATE, "The project's name (matched ignoring case and extra spaces).", required=True,
                    example="Casting Defect Detection"),))
def project_exists(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    account = facts[F.TRAINING_ACCOUNT]
    projects: list[F.ProjectFact] = list(facts[F.PROJECTS] or [])
    want = expect["name"]
    found = matching_projects(projects, want)
    ev: dict[str, Any] = {"account": account.name, "projects": [p.name for p in projects], "expected": want}
    if not found:
        create = (f"Sign in to customvision.ai, select NEW PROJECT, name it '{want}', choose resource "
                  f"'{account.name}', and select Create project.")
        if not projects:
            return failed(f"No project was found in Custom Vision resource '{account.name}'.", create, ev)
        return failed(
            f"No project named '{want}' was found in Custom Vision resource '{account.name}'; found "
            f"{quoted(p.name for p in projects)}.",
            f"In customvision.ai, open your project, {_SETTINGS}, change its name to '{want}', and save.",
            ev,
        )
    project = found[0]
    ev.update(project_id=project.id, name=project.name)
    advice = []
    if project.name != want:
        advice.append(f"The project is named '{project.name}'; the lab spells it '{want}'.")
    if len(found) > 1:
        advice.append(f"{len(found)} projects are named '{want}'; labgrader checks the newest one. "
                      "Delete the others to avoid confusion.")
    return passed(f"Found project '{project.name}' in Custom Vision resource '{account.name}'.", ev, advice)


@check("project_description", title="The project has the lab's description", reads=(F.PROJECT,),
       expects=(Key("description", TEMPLATE, "The project's description (matched ignoring case, extra spaces and "
                                             "a final period).", required=True,
                    example="Classifying casting images as ok or defective"),))
def project_description(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project, out = _project_here(facts, "description")
    if out:
        return out
    want = expect["description"]
    have = project.description or ""
    ev = {"project": project.name, "description": have, "expected": want}
    if loose(have).rstrip(".") == loose(want).rstrip("."):
        return passed(f"Project '{project.name}' has the description '{have.strip()}'.", ev)
    found = f"the description '{have.strip()}'" if have.strip() else "no description"
    return failed(
        f"Project '{project.name}' has {found}; this lab expects '{want}'.",
        f"In customvision.ai, {_SETTINGS}, set Description to '{want}', and save.",
        ev,
    )


def _judge_type(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    """The project's type (from its domain's type) against ``expect["type"]``."""
    project, out = _project_here(facts, "project type")
    if out:
        return out
    domain = _domain(project, list(facts[F.DOMAINS] or []))
    if domain is None:
        return _unknown_domain(project)
    want = expect["type"]
    want_name = _type_name(want)
    ev = {"project": project.name, "domain": domain.name, "domain_type": domain.type, "expected": want}
    if _type_key(domain.type) == _type_key(want):
        return passed(f"Project '{project.name}' is {_a(want_name)} {want_name} project.", ev)
    have = _type_name(domain.type)
    return failed(
        f"Project '{project.name}' is {_a(have)} {have} project; this lab needs {want_name}.",
        f"A project's type cannot be changed: in customvision.ai delete project '{project.name}'{_free_limit(ctx)} "
        f"and create it again with Project Types: {want_name}, "
        f"{_as_described(ctx, _type_check(want))}.",
        ev,
    )


@check("project_type_classification", title="The project is a Classification project",
       reads=(F.PROJECT, F.DOMAINS), expects=(_type_key_of("Classification"),))
def project_type_classification(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    return _judge_type(facts, expect, ctx)


@check("project_type_object_detection", title="The project is an Object Detection project",
       reads=(F.PROJECT, F.DOMAINS), expects=(_type_key_of("ObjectDetection"),))
def project_type_object_detection(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    return _judge_type(facts, expect, ctx)


# Project type (a domain's ``type``, spaces ignored) -> how the portal names it, and the check that judges it.
_TYPE_NAMES = {"classification": "Classification", "objectdetection": "Object Detection"}
_TYPE_CHECKS = {"classification": "project_type_classification", "objectdetection": "project_type_object_detection"}


def _type_key(project_type: str | None) -> str:
    return loose(project_type).replace(" ", "")


def _type_check(project_type: str) -> str:
    return _TYPE_CHECKS.get(_type_key(project_type), "project_type_classification")


def _a(name: str) -> str:
    return "an" if name[:1].lower() in "aeiou" else "a"


def _as_described(ctx: Context, check_id: str) -> str:
    task = ctx.check_tasks.get(check_id)
    return f"as Task {task} describes" if task else "as the lab guide describes"


def _other_type(project: F.ProjectFact, domain: F.DomainFact | None, what: str, ctx: Context,
                want: str = "Classification") -> Outcome | None:
    """For a project whose domain is of another project type than ``want`` (an Object Detection project in a
    Classification lab): the follow-on of the project type check, since the project must be created again
    with the right type, which settles ``what`` as well. None when the type is right or unknown."""
    if domain is None or _type_key(domain.type) == _type_key(want):
        return None
    have, want_name, cause = _type_name(domain.type), _type_name(want), _type_check(want)
    return failed(
        f"Project '{project.name}' is {_a(have)} {have} project, so its {what} is checked once it is "
        f"{_a(want_name)} {want_name} project.",
        f"Create the project again as {_a(want_name)} {want_name} project, {_as_described(ctx, cause)}.",
        {"project": project.name, "domain": domain.name, "domain_type": domain.type}, follows_from=cause,
    )


def _free_limit(ctx: Context) -> str:
    """Why deleting a project matters on the lab's tier: the Free (F0) tier allows two projects."""
    free = (ctx.expected("account_training_tier", "sku") or "").casefold() == "f0"
    return " (the Free tier allows two projects)" if free else ""


def _type_name(domain_type: str | None) -> str:
    return _TYPE_NAMES.get(_type_key(domain_type), str(domain_type))


@check("project_classification_multiclass", title="The project uses the lab's classification type",
       reads=(F.PROJECT, F.DOMAINS),
       expects=(Key("classification_type", TEXT, "Multiclass: one tag per image; Multilabel: any number.",
                    default="Multiclass", allowed=("Multiclass", "Multilabel"), example="Multiclass"),))
def project_classification_multiclass(facts: F.Snapshot, expect: Mapping[str, Any],
                                      ctx: Context) -> Outcome:
    project, out = _project_here(facts, "classification type")
    if out:
        return out
    # Only Classification projects have a classification type: an Object Detection project has none.
    if (out := _other_type(project, _domain(project, list(facts[F.DOMAINS] or [])), "classification type", ctx)):
        return out
    want = expect["classification_type"]
    have = project.classification_type
    ev = {"project": project.name, "classification_type": have, "expected": want}
    if loose(have) == loose(want):
        return passed(f"Project '{project.name}' uses classification type {have}.", ev)
    found = f"classification type {have}" if have else "no classification type"
    return failed(
        f"Found project '{project.name}' with {found}. This lab needs {want}.",
        f"In customvision.ai, {_SETTINGS}, choose Classification Types: {want}, and save.",
        ev,
    )


@check("project_domain_compact", title="The project uses the lab's domain", reads=(F.PROJECT, F.DOMAINS),
       expects=(Key("domain", TEXT, "The domain's name as customvision.ai shows it.", default="General (compact)",
                    example="General (compact)"),
                Key("type", TEXT, "The project type the domain belongs to (a domain of another type is the "
                                  "project type's problem).", default="Classification", allowed=PROJECT_TYPES,
                    example="Classification")))
def project_domain_compact(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project, out = _project_here(facts, "domain")
    if out:
        return out
    domain = _domain(project, list(facts[F.DOMAINS] or []))
    if domain is None:
        return _unknown_domain(project)
    # "General (compact)" names an Object Detection domain too: that one is the project type's problem.
    if (out := _other_type(project, domain, "domain", ctx, expect["type"])):
        return out
    want = expect["domain"]
    ev = {"project": project.name, "domain": domain.name, "domain_id": domain.id, "domain_type": domain.type,
          "expected": want}
    if loose(domain.name) == loose(want):
        return passed(f"Project '{project.name}' uses domain '{domain.name}'.", ev)
    return failed(
        f"Project '{project.name}' uses domain '{domain.name}'; this lab needs '{want}'.",
        f"In customvision.ai, {_SETTINGS}, choose Domains: {want}, and save.",
        ev,
    )


@check("project_export_platforms_basic", title="The project's export capabilities stay on basic platforms",
       reads=(F.PROJECT,),
       expects=(Key("forbidden", TEXT_LIST, "Export platforms the project must not target (VAIDK: Vision AI Dev "
                                            "Kit, which limits what the model exports to).", default=("VAIDK",),
                    allowed=EXPORT_PLATFORMS, example=["VAIDK"]),))
def project_export_platforms_basic(facts: F.Snapshot, expect: Mapping[str, Any],
                                   ctx: Context) -> Outcome:
    project, out = _project_here(facts, "export capabilities")
    if out:
        return out
    # The portal's "Basic platforms" leaves targetExportPlatforms empty or lists the basic ones;
    # "Vision AI Dev Kit" sets VAIDK, which limits what the model can be exported to.
    forbidden = {loose(p) for p in expect["forbidden"]}
    platforms = list(project.target_export_platforms)
    bad = [p for p in platforms if loose(p) in forbidden]
    ev = {"project": project.name, "target_export_platforms": platforms}
    if not bad:
        return passed(f"Project '{project.name}' keeps Export Capabilities on Basic platforms.", ev)
    shown = ", ".join(_PLATFORM_NAMES.get(loose(p), p) for p in bad)
    return failed(
        f"Project '{project.name}' has Export Capabilities set to {shown}; this lab needs Basic platforms.",
        f"In customvision.ai, {_SETTINGS}, choose Export Capabilities: Basic platforms, and save.",
        ev,
    )
