"""Custom Vision Training API (v3.3 and v3.4-preview): domains, projects and tags; images, iterations
and blobs live in nested blueprints registered here.

Served under ``/cv/<account>/customvision/<v3.3|v3.4-preview>/training``; every view is tagged with its
swagger operationId and takes the ``account`` view argument, so fault rules can target an account.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..app import operation
from ..state import utcnow
from . import blobs, domains, regions, serialize, training_images, training_iterations
from .service import (
    TRAINING_KIND,
    authorize,
    cv_data,
    handle_cv_error,
    json_body,
    mark_changed,
    sim,
)
from .store import PROJECTS_PER_ACCOUNT, TAGS_PER_PROJECT, CvError, Project, Tag, new_id

PREFIX = training_images.PREFIX
bp = Blueprint("cv_training", __name__)
bp.register_error_handler(CvError, handle_cv_error)
bp.after_request(mark_changed)
for child in (training_images.bp, regions.bp, training_iterations.bp, blobs.bp):
    bp.register_blueprint(child)

CLASSIFICATION_TYPES = ("Multiclass", "Multilabel")
TAG_TYPES = ("Regular", "Negative", "GeneralProduct")


@bp.url_value_preprocessor
def _pop_api_version(_endpoint, values):
    """Keep the Training API version (v3.3 or v3.4-preview) in ``g.cv_api``: answers depend on it."""
    if values is not None:
        g.cv_api = values.pop("api", None)


@bp.before_request
def _check_key():
    args = request.view_args or {}
    if "account" in args:  # the blob and sample routes are open, like SAS URLs
        g.cv_account = authorize(args["account"], TRAINING_KIND, "Training-Key")


def _data():
    return cv_data(g.cv_account)


def _base() -> str:
    return sim().base_url


def _project_json(proj: Project) -> dict:
    return serialize.project(proj, _base(), g.cv_api)


# -- domains ---------------------------------------------------------------------------------------
@bp.get(f"{PREFIX}/domains")
@operation("GetDomains")
def get_domains(account):
    return jsonify([serialize.domain(d, g.cv_api) for d in domains.DOMAINS])


@bp.get(f"{PREFIX}/domains/<domain_id>")
@operation("GetDomain")
def get_domain(account, domain_id):
    dom = domains.domain(domain_id)
    if dom is None:
        raise CvError("NotFoundDomain", f"Domain {domain_id} not found.")
    return jsonify(serialize.domain(dom, g.cv_api))


# -- projects --------------------------------------------------------------------------------------
def _check_name_free(data, name: str, except_id: str | None = None) -> None:
    if any(p.name.lower() == name.lower() and p.id != except_id for p in data.projects.values()):
        raise CvError("BadRequestProjectNameNotUnique", f"A project named '{name}' already exists.")


def _check_known_platforms(requested: list[str]) -> None:
    """The export platforms a request names must exist in its API version (v3.3 predates OpenVino)."""
    known = domains.platforms(g.cv_api)
    unknown = [p for p in requested if p not in known]
    if unknown:
        raise CvError("BadRequestProjectUnsupportedExportPlatform",
                      f"Unknown export platform {', '.join(unknown)} in Training API {g.cv_api}: use one of "
                      f"{', '.join(known)}.")


def _check_settings(dom: dict, classification: str | None, platforms: list[str]) -> None:
    if classification is not None and classification not in CLASSIFICATION_TYPES:
        raise CvError("BadRequestProjectUnknownClassification",
                      f"Unknown classification type '{classification}': use Multiclass or Multilabel.")
    unsupported = [p for p in platforms if p not in dom.get("exportablePlatforms", [])]
    if unsupported:
        raise CvError("BadRequestProjectUnsupportedExportPlatform",
                      f"Domain '{dom['name']}' cannot export to {', '.join(unsupported)}.")


@bp.get(f"{PREFIX}/projects")
@operation("GetProjects")
def get_projects(account):
    with sim().state.lock:
        return jsonify([_project_json(p) for p in _data().projects.values()])


@bp.post(f"{PREFIX}/projects")
@operation("CreateProject")
def create_project(account):
    name = (request.args.get("name") or "").strip()
    if not name:
        raise CvError("BadRequestProjectName", "A project needs a name.")
    if len(name) > 256:
        raise CvError("BadRequestProjectName", "A project name is at most 256 characters long.")
    description = request.args.get("description")
    if description is not None and len(description) > 4000:
        raise CvError("BadRequestProjectDescription", "A project description is at most 4000 characters long.")
    dom = domains.domain(request.args.get("domainId") or domains.DEFAULT_CLASSIFICATION)
    if dom is None:
        raise CvError("BadRequestProjectUnknownDomain", f"Unknown domain '{request.args.get('domainId')}'.")
    classification = request.args.get("classificationType") or None
    platforms = [p for p in (request.args.get("targetExportPlatforms") or "").split(",") if p]
    _check_known_platforms(platforms)
    _check_settings(dom, classification, platforms)
    # The portal's default is Multilabel (several tags per image); detection projects have no type.
    classification = (classification or "Multilabel") if dom["type"] == domains.CLASSIFICATION else None
    with sim().state.lock:
        data = _data()
        limit = PROJECTS_PER_ACCOUNT.get(g.cv_account.sku.upper(), 100)
        if len(data.projects) >= limit:
            raise CvError("BadRequestExceedProjectLimit",
                          f"This {g.cv_account.sku} resource allows {limit} projects and already has "
                          f"{len(data.projects)}.")
        _check_name_free(data, name)
        proj = Project(new_id(), name, description, dom["id"], classification, platforms)
        data.projects[proj.id] = proj
        return jsonify(_project_json(proj))


@bp.get(f"{PREFIX}/projects/<project_id>")
@operation("GetProject")
def get_project(account, project_id):
    with sim().state.lock:
        return jsonify(_project_json(_data().project(project_id)))


@bp.patch(f"{PREFIX}/projects/<project_id>")
@operation("UpdateProject")
def update_project(account, project_id):
    body = json_body()
    settings = body.get("settings") or {}
    with sim().state.lock:
        data = _data()
        proj = data.project(project_id)
        name = (body.get("name") or proj.name).strip()
        if not name or len(name) > 256:
            raise CvError("BadRequestProjectName", "A project name must be 1 to 256 characters long.")
        _check_name_free(data, name, except_id=proj.id)
        dom = domains.domain(settings.get("domainId") or proj.domain_id)
        if dom is None:
            raise CvError("BadRequestProjectUnknownDomain", f"Unknown domain '{settings.get('domainId')}'.")
        if dom["type"] != proj.domain.get("type"):
            raise CvError("BadRequestProjectUnsupportedDomainTypeChange",
                          f"A {proj.domain.get('type')} project cannot move to a {dom['type']} domain.")
        classification = settings.get("classificationType") or proj.classification_type
        platforms = settings.get("targetExportPlatforms")
        _check_known_platforms(platforms or [])
        platforms = list(proj.target_export_platforms if platforms is None else platforms)
        if dom["id"] != proj.domain_id and settings.get("targetExportPlatforms") is None:
            # Moving to a domain that cannot export drops the old export targets, as the portal does.
            platforms = [p for p in platforms if p in dom.get("exportablePlatforms", [])]
        _check_settings(dom, classification, platforms)
        proj.name = name
        if "description" in body:
            proj.description = body.get("description")
        proj.domain_id = dom["id"]
        proj.classification_type = classification if dom["type"] == domains.CLASSIFICATION else None
        proj.target_export_platforms = platforms
        proj.last_modified = utcnow()
        return jsonify(_project_json(proj))


@bp.delete(f"{PREFIX}/projects/<project_id>")
@operation("DeleteProject")
def delete_project(account, project_id):
    with sim().state.lock:
        data = _data()
        proj = data.project(project_id)
        published = [it.name for it in proj.iterations.values() if it.publish_name]
        if published:
            raise CvError("BadRequestIterationIsPublished",
                          f"Unpublish {', '.join(published)} before deleting the project.")
        del data.projects[proj.id]
    return "", 204


# -- tags ------------------------------------------------------------------------------------------
def _check_tag(proj: Project, name: str, tag_type: str, except_id: str | None = None) -> None:
    if not name or len(name) > 256:
        raise CvError("BadRequestTagName", "A tag name must be 1 to 256 characters long.")
    if any(t.name.lower() == name.lower() and t.id != except_id for t in proj.tags.values()):
        raise CvError("BadRequestTagNameNotUnique", f"A tag named '{name}' already exists in this project.")
    if tag_type not in TAG_TYPES:
        raise CvError("BadRequestTagType", f"Unknown tag type '{tag_type}': use Regular, Negative or GeneralProduct.")
    for special, code in (("Negative", "BadRequestMultipleNegativeTag"),
                          ("GeneralProduct", "BadRequestMultipleGeneralProductTag")):
        if tag_type == special and any(t.type == special and t.id != except_id for t in proj.tags.values()):
            raise CvError(code, f"A project can have only one {special} tag.")


@bp.get(f"{PREFIX}/projects/<project_id>/tags")
@operation("GetTags")
def get_tags(account, project_id):
    iteration_id = request.args.get("iterationId")
    with sim().state.lock:
        proj = _data().project(project_id)
        tags = list(proj.tags.values())
        if iteration_id:
            it = proj.iteration(iteration_id)
            tags = [t for t in tags if t.id in it.tag_names]
        return jsonify([serialize.tag(proj, t) for t in tags])


@bp.post(f"{PREFIX}/projects/<project_id>/tags")
@operation("CreateTag")
def create_tag(account, project_id):
    name = (request.args.get("name") or "").strip()
    tag_type = request.args.get("type") or "Regular"
    with sim().state.lock:
        proj = _data().project(project_id)
        _check_tag(proj, name, tag_type)
        limit = TAGS_PER_PROJECT.get(g.cv_account.sku.upper(), 500)
        if len(proj.tags) >= limit:
            raise CvError("BadRequestExceedTagPerProjectLimit", f"A project on this tier allows {limit} tags.")
        tag = Tag(new_id(), name, request.args.get("description"), tag_type)
        proj.tags[tag.id] = tag
        proj.last_modified = utcnow()
        return jsonify(serialize.tag(proj, tag, 0))


@bp.get(f"{PREFIX}/projects/<project_id>/tags/<tag_id>")
@operation("GetTag")
def get_tag(account, project_id, tag_id):
    with sim().state.lock:
        proj = _data().project(project_id)
        return jsonify(serialize.tag(proj, proj.tag(tag_id)))


@bp.patch(f"{PREFIX}/projects/<project_id>/tags/<tag_id>")
@operation("UpdateTag")
def update_tag(account, project_id, tag_id):
    body = json_body()
    with sim().state.lock:
        proj = _data().project(project_id)
        tag = proj.tag(tag_id)
        name = (body.get("name") or tag.name).strip()
        tag_type = body.get("type") or tag.type
        _check_tag(proj, name, tag_type, except_id=tag.id)
        tag.name, tag.type = name, tag_type
        if "description" in body:
            tag.description = body.get("description")
        return jsonify(serialize.tag(proj, tag))


@bp.delete(f"{PREFIX}/projects/<project_id>/tags/<tag_id>")
@operation("DeleteTag")
def delete_tag(account, project_id, tag_id):
    with sim().state.lock:
        proj = _data().project(project_id)
        tag = proj.tag(tag_id)
        for img in proj.images.values():
            img.tag_ids.pop(tag.id, None)
            img.regions = {rid: r for rid, r in img.regions.items() if r.tag_id != tag.id}
        del proj.tags[tag.id]
    return "", 204
