"""The proctor pages: sign in, the classes granted, the live class grid with failure reasons, stuck
attendees and the funnel, one attendee's timeline with re-validate, and the CSV exports.

A class or attendee the proctor was not granted is a 404: the page does not say it exists.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

import validator
from checks.outcome import Status

from .. import auth, charts
from ..models import Attendee, Cohort, Proctor
from ..security import limiter
from ..services import attempts, attendees, jobs, labs, proctors, progress, validation
from ..services.errors import InvalidInput, NotFound
from . import csvout, grid, queries

bp = Blueprint("proctor", __name__, url_prefix="/proctor")

LOGIN_RATE = "10 per minute"  # per address and email: slows password guessing, never a proctor in a hurry
BUSY_RETRY_SECONDS = 5
POLL_SECONDS = 5
TIMELINE_LIMIT = 200


# -- sign in / out --------------------------------------------------------------------------------------


def _login_key() -> str:
    """Client address and the email tried: guessing one account's password is slowed, while proctors
    sharing an address (a school's proxy) cannot lock each other out."""
    email = request.form.get("email", "").strip().lower()
    return f"proctor-login:{get_remote_address()}:{email}"


def _login_limited(limit: RequestLimit) -> Response:
    return Response(render_template("proctor/login.html", error="Too many sign-in attempts for this email. "
                                    "Wait a minute, then try again.", email=_typed_email()),
                    429, mimetype="text/html")


def _address_key() -> str:
    """The client address alone: trying many emails from one place is limited too (each try costs a
    deliberately slow password hash), by ``LOGIN_RATE_LIMIT``."""
    return f"proctor-login-address:{get_remote_address()}"


def _address_rate() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _address_limited(limit: RequestLimit) -> Response:
    return Response(render_template("proctor/login.html", error="Too many sign-in attempts from your network. "
                                    "Wait a minute, then try again.", email=_typed_email()),
                    429, mimetype="text/html")


def _typed_email() -> str:
    """The email as typed, to show again in the form: no longer than an email can be."""
    return request.form.get("email", "")[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_rate, methods=["POST"], key_func=_address_key, on_breach=_address_limited)
@limiter.limit(LOGIN_RATE, methods=["POST"], key_func=_login_key, on_breach=_login_limited)
def login():
    next_url = auth.safe_next(request.values.get("next"), url_for("proctor.index"))
    if request.method == "GET":
        if auth.current_proctor() is not None:
            return redirect(next_url)
        return render_template("proctor/login.html", next=next_url, email="")
    try:
        proctor = proctors.authenticate(request.form.get("email", ""), request.form.get("password", ""))
    except proctors.Busy:
        page = render_template("proctor/login.html", error="Signing in is busy right now. Wait a few seconds, then "
                               "try again.", email=_typed_email(), next=next_url)
        return page, 503, {"Retry-After": str(BUSY_RETRY_SECONDS)}
    if proctor is None:
        # One message for an unknown email and a wrong password: the page does not confirm who has an account.
        return render_template("proctor/login.html", error="That email and password do not match a proctor "
                               "account. Check both and try again.", email=_typed_email(), next=next_url), 401
    auth.login_proctor(proctor)
    return redirect(next_url, 303)


@bp.post("/logout")
def logout():
    auth.logout()
    flash("You are signed out.", "info")
    return redirect(url_for("proctor.login"), 303)


# -- classes --------------------------------------------------------------------------------------------


@bp.get("/")
@auth.proctor_required
def index():
    me = _me()
    return render_template("proctor/index.html", proctor=me, cohorts=proctors.cohorts_for(me))


@bp.get("/labs/<lab>/classes/<path:name>")
@auth.proctor_required
def cohort_page(lab: str, name: str):
    cohort = _granted_cohort(lab, name)
    pack = labs.pack(cohort.lab_id)
    filters = grid.Filters.from_args(request.args, tuple(s.id for s in pack.steps))
    return render_template("proctor/class.html", cohort=cohort, filters=filters, sorts=grid.SORTS,
                           statuses=grid.STATUS_FILTERS, **_grid_context(cohort, filters))


@bp.get("/labs/<lab>/classes/<path:name>/grid")
@auth.proctor_required
def cohort_grid(lab: str, name: str):
    """The live part of the class page (grid, reasons, stuck, funnel), polled every few seconds."""
    cohort = _granted_cohort(lab, name)
    pack = labs.pack(cohort.lab_id)
    filters = grid.Filters.from_args(request.args, tuple(s.id for s in pack.steps))
    return render_template("proctor/_grid.html", cohort=cohort, filters=filters, **_grid_context(cohort, filters))


def _grid_context(cohort: Cohort, filters: grid.Filters) -> dict:
    data = progress.cohort(cohort.lab_id, cohort.name, filters)
    pack = labs.pack(cohort.lab_id)
    funnel = charts.funnel_svg(
        [charts.FunnelStep(f"Task {s.task}", s.passed, s.started) for s in data.steps], data.attendees,
        chart_id="lg-funnel", title=f"Completion funnel of {cohort.name}",
    )
    return {"data": data, "pack": pack, "rows": grid.rows(data), "funnel": funnel, "stuck_shown": grid.STUCK_SHOWN,
            "poll_seconds": POLL_SECONDS, "now": datetime.now(UTC)}


@bp.get("/labs/<lab>/classes/<path:name>/grid.csv")
@auth.proctor_required
def grid_csv(lab: str, name: str):
    cohort = _granted_cohort(lab, name)
    pack = labs.pack(cohort.lab_id)
    header = ["external_id", "display_name", "done", "total", "score", "passes", "current_task",
              "minutes_on_current_task", "stuck", *[f"Task {s.task}" for s in pack.steps]]
    table = (
        [r.row.external_id, r.row.display_name, r.row.done, len(pack.steps), r.row.score,
         "" if r.row.passes is None else ("yes" if r.row.passes else "no"), r.current.task if r.current else "",
         "" if r.seconds_on_current is None else r.seconds_on_current // 60, r.stuck or "",
         *[(r.row.cells[s.id].status or "NOT_STARTED") for s in pack.steps]]
        for r in grid.rows_of(progress.every_row(cohort.lab_id, cohort.name))
    )
    return _csv(stream_with_context(csvout.rows_to_csv(header, table)), f"{cohort.lab_id}-{cohort.name}-grid.csv")


@bp.get("/labs/<lab>/classes/<path:name>/attempts.csv")
@auth.proctor_required
def attempts_csv(lab: str, name: str):
    cohort = _granted_cohort(lab, name)
    header = ["attempt_id", "external_id", "display_name", "task", "step_id", "status", "message", "hint",
              "trigger", "triggered_by", "started_at", "duration_ms", "azure_calls"]
    rows = (
        [a.id, who.external_id, who.display_name, a.task, a.step_id, a.status, a.message, a.hint or "", a.trigger,
         a.triggered_by or "", a.started_at.isoformat(), a.duration_ms, a.azure_calls]
        for a, who in queries.class_attempts(cohort)
    )
    return _csv(stream_with_context(csvout.rows_to_csv(header, rows)), f"{cohort.lab_id}-{cohort.name}-attempts.csv")


def _csv(chunks, filename: str) -> Response:
    safe_name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    return Response(chunks, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"', "Cache-Control": "no-store"})


# -- one attendee ---------------------------------------------------------------------------------------


@bp.get("/attendees/<int:attendee_id>")
@auth.proctor_required
def attendee_page(attendee_id: int):
    who = _visible_attendee(attendee_id)
    pack = labs.pack(who.lab_id)
    timeline = [(a, validator.StepResult.from_json(a.result)) for a in attempts.history(who, limit=TIMELINE_LIMIT)]
    return render_template("proctor/attendee.html", who=who, pack=pack, progress=progress.attendee(who),
                           timeline=timeline, limit=TIMELINE_LIMIT)


@bp.post("/attendees/<int:attendee_id>/revalidate")
@auth.proctor_required
def revalidate(attendee_id: int):
    who = _visible_attendee(attendee_id)
    pack = labs.pack(who.lab_id)
    step = request.form.get("step", "all")
    me = _me()
    if step == "all":
        # Every step can take seconds against Azure: run them in the background, in lab order.
        jobs.submit(revalidate_all, who.id, me.email)
        flash(f"Re-validating all {len(pack.steps)} tasks of {who.display_name or who.external_id}. "
              "The timeline fills in as each result arrives: reload in a few seconds.", "info")
    else:
        try:
            spec = pack.step(step)
        except KeyError:
            abort(404)
        result = validation.run(who, spec.id, trigger="proctor", triggered_by=me.email)
        flash(f"Task {spec.task}: {result.status.value}. {result.message}",
              "error" if result.status in (Status.FAIL, Status.ERROR) else "info")
    return redirect(url_for("proctor.attendee_page", attendee_id=who.id), 303)


def revalidate_all(attendee_id: int, proctor_email: str) -> int:
    """Validate every step of one attendee (a background job); returns how many ran."""
    who = queries.attendee(attendee_id)
    if who is None:
        return 0
    # One snapshot for every step: each fact is fetched once, and each step recorded as if validated alone.
    # Unusable credentials fail every step the same way: one recorded ERROR says it.
    return len(validation.run_many(who, None, trigger="proctor", triggered_by=proctor_email))


# -- helpers --------------------------------------------------------------------------------------------


def _me() -> Proctor:
    proctor = auth.current_proctor()
    assert proctor is not None  # proctor_required ran first
    return proctor


def _granted_cohort(lab: str, name: str) -> Cohort:
    try:
        cohort = attendees.get_cohort(lab, name, create=False)
    except (NotFound, InvalidInput):
        abort(404)
    if all(c.id != cohort.id for c in proctors.cohorts_for(_me())):
        abort(404)
    return cohort


def _visible_attendee(attendee_id: int) -> Attendee:
    who = queries.attendee(attendee_id)
    if who is None or not proctors.can_see(_me(), who):
        abort(404)
    return who


@bp.errorhandler(404)
def not_found(_error):
    return render_template("errors/page.html", title="Not found",
                           text="There is no such class or attendee among those you may see."), 404
