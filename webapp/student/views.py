"""The student's pages: the launch link, the guide with Validate buttons, badges, history, secret reveal.

Every route reads the attendee from the session only; a step, attempt or inject that is not theirs is a
404, never someone else's data.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime
from html import escape

from flask import (
    Blueprint,
    Response,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_limiter import RequestLimit
from limits import parse as parse_limit

import validator
from checks.outcome import RECHECK_AFTER, Status
from labguide.packs import LabPack, StepSpec
from labguide.render import GUIDE_CSS, GUIDE_JS, render_guide

from .. import auth
from ..models import Attempt, Attendee, utcnow
from ..security import limiter, recheck_rate, validate_rate
from ..services import attempts, attendees, autocheck, labs, launch, progress, validation
from ..services.errors import ExpiredLink, InvalidLink
from . import queries
from .badges import look

bp = Blueprint("student", __name__)

HISTORY_LIMIT = 20
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


# -- launch ---------------------------------------------------------------------------------------------


@bp.get("/launch/<token>")
def launch_link(token: str):
    try:
        attendee = launch.verify(token)
    except ExpiredLink as exc:
        return _no_store(render_template("errors/link.html", message=str(exc), expired=True), 403)
    except InvalidLink as exc:
        return _no_store(render_template("errors/link.html", message=str(exc), expired=False), 400)
    auth.login_attendee(attendee)
    # Redirect so the token leaves the address bar (and the history a shared computer keeps).
    return _no_store(redirect(url_for("student.guide")), 303)


# -- the guide ------------------------------------------------------------------------------------------


@bp.get("/lab")
@auth.attendee_required
def guide():
    attendee = _me()
    pack = labs.pack(attendee.lab_id)
    autocheck.seen(attendee)  # an open guide keeps the automatic checks following the student
    html = render_guide(
        pack,
        attendees.injects_for_render(attendee),
        step_url=lambda step: url_for("student.validate", step=step),
        image_url=lambda name: url_for("student.image", name=name),
        reveal_url=lambda key: url_for("student.reveal", key=key),
    )
    mine = progress.attendee(attendee)
    by_step = {s.step_id: s for s in mine.steps}
    # One query per step keeps this simple; a lab has about ten steps.
    histories = {spec.id: attempts.history(attendee, spec.id, limit=HISTORY_LIMIT) for spec in pack.steps}
    html = _wire_validations(html, pack, by_step, histories)
    return _no_store(render_template("student/lab.html", attendee=attendee, pack=pack, guide_html=html,
                                     progress=mine), 200)


def _last_badge(step_id: str, cell: progress.StepProgress, items: list[Attempt]) -> str:
    """The step's standing result as the page opens: status, message and hint of the attempt that decided it,
    when that check ran, and for PENDING the automatic recheck a fresh PENDING badge carries, due when the
    result asked to be looked at again (at once, if that time has passed while the page was closed)."""
    shown = next((a for a in items if a.status == cell.status), None)  # newest first; ERRORs may follow it
    delay = None
    if cell.status == Status.PENDING.value:
        after = validator.StepResult.from_json(shown.result).recheck_after if shown else RECHECK_AFTER
        delay = recheck_delay(after, since=shown.started_at if shown else cell.last_attempt_at)
    return render_template("student/_last.html", cell=cell, attempt=shown, step_id=step_id, recheck_delay=delay)


def _wire_validations(html: str, pack: LabPack, by_step: dict, histories: dict) -> str:
    """Give each Validate widget the renderer made its htmx wiring, test ids, last badge and history."""
    known = {s.id for s in pack.steps}

    def button(m: re.Match) -> str:
        step = m.group(1)
        if step not in known:
            return m.group(0)
        target = f"#lg-badge-{step}"
        return (
            f'{m.group(0)} hx-post="{escape(url_for("student.validate", step=step), quote=True)}"'
            f' hx-target="{target}" hx-swap="innerHTML" hx-disabled-elt="this" data-testid="validate-{step}"'
        )

    def badge(m: re.Match) -> str:
        tag, step = m.group(1), m.group(2)
        if step not in known:
            return m.group(0)
        cell = by_step.get(step)
        initial = _last_badge(step, cell, histories.get(step, [])) if cell and cell.status else ""
        history = render_template("student/_history.html", step=pack.step(step), items=histories.get(step, []))
        return f'{m.group(0)[:-len(f"></{tag}>")]} data-testid="badge-{step}">{initial}</{tag}>{history}'

    html = re.sub(r'class="lg-validate" data-step="([^"]+)"', button, html)
    return re.sub(r'<(div|span) class="lg-badge" id="lg-badge-[^"]+" data-step="([^"]+)"'
                  r' role="status" aria-live="polite"></\1>', badge, html)


@bp.get("/lab/guide.css")
def guide_css():
    # The renderer's stylesheet, served (not inlined) so the Content-Security-Policy needs no 'unsafe-inline'.
    return Response(GUIDE_CSS, mimetype="text/css", headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/lab/guide.js")
def guide_js():
    # The renderer's copy and reveal controls: one script for the web page and the standalone preview.
    return Response(GUIDE_JS, mimetype="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/lab/images/<path:name>")
@auth.attendee_required
def image(name: str):
    pack = labs.pack(_me().lab_id)
    # send_from_directory refuses any path that leaves the pack's images folder (404).
    response = send_from_directory(pack.images_dir, name, max_age=3600)
    # An SVG opened by itself is a document on this origin: no script in it may run, nothing may load.
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/lab/reveal/<key>")
@auth.attendee_required
def reveal(key: str):
    attendee = _me()
    pack = labs.pack(attendee.lab_id)
    if key not in pack.secret_keys:
        abort(404)
    value = attendees.injects_for_render(attendee, reveal=True).get(key)
    if not value:
        abort(404)
    response = make_response(value, 200)
    response.mimetype = "text/plain"
    return _no_store(response, 200)


# -- validate and recheck --------------------------------------------------------------------------------
#
# Two routes, two budgets. Validate is the student's press, limited by VALIDATE_RATE_LIMIT. Recheck is the
# page asking again by itself while a step is PENDING, within RECHECK_RATE_LIMIT: it never uses up a press,
# and it asks Azure only while the step's standing result is PENDING, so it cannot stand in for Validate.


def _step_key(kind: str) -> str:
    attendee = auth.current_attendee()
    return f"{kind}:{attendee.id if attendee else '-'}:{(request.view_args or {}).get('step', '')}"


def _wait(limit: RequestLimit) -> int:
    return max(1, math.ceil(limit.window[0] - time.time()))  # window[0]: when a request is allowed again


def _rate_limited(limit: RequestLimit) -> Response:
    """A refused press: the badge keeps the last result (``HX-Reswap: none``) and a notice swapped in above
    it counts down while the page holds the step's Validate button (see labgrader.js)."""
    wait = _wait(limit)
    body = render_template("student/_ratelimited.html", wait=wait, step=(request.view_args or {}).get("step", ""),
                           limit=validate_rate())
    response = make_response(body, 429)
    response.headers["Retry-After"] = str(wait)
    response.headers["HX-Reswap"] = "none"
    return response


def _recheck_limited(limit: RequestLimit) -> Response:
    """A recheck over its budget: the badge stays as it is and its recheck is rescheduled for when one is
    allowed again. The student's Validate button is untouched."""
    wait = _wait(limit)
    body = render_template("student/_recheck.html", step_id=(request.view_args or {}).get("step", ""),
                           delay=wait, oob=True)
    response = make_response(body, 429)
    response.headers["Retry-After"] = str(wait)
    response.headers["HX-Reswap"] = "none"
    return response


@bp.post("/lab/steps/<step>/validate")
@auth.attendee_required
@limiter.limit(validate_rate, key_func=lambda: _step_key("validate"), on_breach=_rate_limited)
def validate(step: str):
    attendee = _me()
    spec = _my_step(attendee, step)
    # Unusable stored credentials come back as a recorded ERROR result, like any trouble on the grader's side.
    result = validation.run(attendee, spec.id, trigger="student", triggered_by=attendee.external_id)
    return _step_fragments(attendee, spec, result=result)


@bp.post("/lab/steps/<step>/recheck")
@auth.attendee_required
@limiter.limit(recheck_rate, key_func=lambda: _step_key("recheck"), on_breach=_recheck_limited)
def recheck(step: str):
    attendee = _me()
    spec = _my_step(attendee, step)
    cell = next(c for c in progress.attendee(attendee).steps if c.step_id == spec.id)
    if cell.status != Status.PENDING.value:
        # Settled meanwhile (a press, another tab, a proctor) or never validated: answer what is stored.
        items = attempts.history(attendee, spec.id, limit=HISTORY_LIMIT)
        return _last_badge(spec.id, cell, items) if cell.status else ""
    result = validation.run(attendee, spec.id, trigger="recheck", triggered_by=attendee.external_id)
    return _step_fragments(attendee, spec, result=result)


def _step_fragments(attendee: Attendee, spec: StepSpec, *, result) -> str:
    """The badge for ``result`` plus out-of-band updates of the step's history and the progress bar."""
    badge = render_template("student/_badge.html", result=result, look=look(result.status), step=spec,
                            recheck_delay=recheck_delay(result.recheck_after))
    history = render_template("student/_history.html", step=spec, oob=True,
                              items=attempts.history(attendee, spec.id, limit=HISTORY_LIMIT))
    bar = render_template("student/_progress.html", progress=progress.attendee(attendee), oob=True)
    return badge + history + bar


def recheck_delay(after: int | None, since: datetime | None = None) -> int | None:
    """Seconds a PENDING badge waits before checking again by itself (None: not PENDING, no recheck).

    ``after`` is what the result asked for (``StepResult.recheck_after``), counted from ``since`` (the time
    of that check; default now). Never sooner than RECHECK_RATE_LIMIT spaces its rechecks, so a page
    left open never runs into it.
    """
    if after is None:
        return None
    item = parse_limit(recheck_rate())
    spacing = math.ceil(item.get_expiry() / max(1, item.amount))
    left = after - ((utcnow() - since).total_seconds() if since else 0)
    return max(spacing, math.ceil(left))


@bp.get("/lab/steps/<step>/history")
@auth.attendee_required
def history(step: str):
    attendee = _me()
    spec = _my_step(attendee, step)
    return render_template("student/_history.html", step=spec,
                           items=attempts.history(attendee, spec.id, limit=HISTORY_LIMIT))


@bp.get("/lab/attempts/<int:attempt_id>")
@auth.attendee_required
def attempt(attempt_id: int):
    attendee = _me()
    found = queries.own_attempt(attendee, attempt_id)
    if found is None:
        abort(404)
    result = validator.StepResult.from_json(found.result)
    spec = _my_step(attendee, found.step_id)
    return render_template("student/_badge.html", result=result, look=look(result.status), step=spec,
                           recheck_delay=None, past=True)


@bp.get("/lab/progress")
@auth.attendee_required
def progress_bar():
    return render_template("student/_progress.html", progress=progress.attendee(_me()))


@bp.post("/lab/logout")
def logout():
    auth.logout()
    return render_template("errors/no_session.html", signed_out=True)


@bp.errorhandler(404)
def not_found(_error):
    if request.headers.get("HX-Request"):
        return render_template("student/_not_found.html"), 404
    return render_template("errors/page.html", title="Not found",
                           text="There is nothing here for your lab session."), 404


# -- helpers --------------------------------------------------------------------------------------------


def _me() -> Attendee:
    attendee = auth.current_attendee()
    assert attendee is not None  # attendee_required ran first
    return attendee


def _my_step(attendee: Attendee, step: str) -> StepSpec:
    try:
        return labs.pack(attendee.lab_id).step(step)
    except KeyError:
        abort(404)


def _no_store(response, status: int):
    response = make_response(response, status)
    response.headers["Cache-Control"] = "no-store"
    return response
