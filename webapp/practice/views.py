"""Practice routes: the mistake choices of a task, and "do this task" for the session's attendee.

The task runs synchronously through the scripted student (the official SDKs against azuresim): uploads
take a second or two and a training as long as the demo's ``--training-seconds``; the page shows a
working state meanwhile.

Two locks keep it in the demo: ``DEMO`` must be set, and the attendee's stored credentials must sign in
at a loopback simulator. A production server started with ``DEMO`` by mistake still never acts in a
real subscription. ``azuresim.student`` is imported only when a route runs, never with the web app.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, render_template, request
from markupsafe import Markup

from .. import auth
from ..models import Attendee
from ..services import attendees, labs, progress

if TYPE_CHECKING:
    from azuresim.student import Student

log = logging.getLogger(__name__)

# The scripted student knows one lab; the panel is offered to that lab's attendees only.
LAB = "spot-the-flaw"

bp = Blueprint("practice", __name__, template_folder="templates", static_folder="static",
               static_url_path="/lab/practice/static")

# One task at a time per attendee: a second press while the first runs would race it in azuresim.
# (The demo is one process; a lock in memory is enough.)
_busy: dict[int, threading.Lock] = {}
_busy_guard = threading.Lock()

# One scripted student per attendee (its SDK clients and token cache), rebuilt when the credentials change.
STUDENTS_KEPT = 32
_students: OrderedDict[int, tuple[str, Student]] = OrderedDict()
_students_guard = threading.Lock()


@dataclass(frozen=True)
class TaskChoice:
    task: str
    label: str  # "Task 1: Create a Custom Vision resource"


@dataclass(frozen=True)
class Panel:
    """What the panel form offers: the tasks, the one selected, and its mistakes."""

    tasks: list[TaskChoice]
    selected: str
    mistakes: dict[str, str]  # mistake id -> what the student does (never the verdict it gets)


_PANEL_KEY = "labgrader.practice_panel"

# The block widget the guide renderer gives each Validate button (labguide.render._validation_html).
_VALIDATION_BLOCK = re.compile(r'<div class="lg-validation" data-step="([^"]+)">')


@bp.before_request
def _demo_only() -> None:
    if not current_app.config.get("DEMO"):
        abort(404)


def simulated(attendee: Attendee) -> bool:
    """Whether ``attendee``'s stored credentials sign in at a simulator on this machine (loopback only).

    Anything else (real Entra ID, another host, no authority, credentials that cannot be read) is no.
    """
    try:
        authority = attendees.credentials(attendee).get("authority_host")
    except Exception:  # unreadable credentials: certainly not proof of a simulator
        log.warning("practice: credentials of attendee %s cannot be read", attendee.id, exc_info=True)
        return False
    return is_loopback_authority(authority)


def is_loopback_authority(authority: object) -> bool:
    """Whether ``authority`` is a URL whose host is ``localhost``, in 127.0.0.0/8 or ``::1``."""
    if not isinstance(authority, str):
        return False
    try:
        host = urlsplit(authority.strip()).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost":  # hostname is lower-cased already
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _practising_attendee() -> Attendee:
    """The session's attendee, when the panel may act for them; a 404 otherwise (as if it did not exist)."""
    attendee = auth.current_attendee()
    assert attendee is not None  # attendee_required ran first
    if not simulated(attendee):
        abort(404)
    return attendee


def _script():
    """The scripted student's module, imported on first use so the web app never loads it by itself."""
    from azuresim import student

    return student


def panel() -> Panel | None:
    """The panel's model for the session's attendee, or ``None`` (not demo mode, no attendee, other lab,
    credentials not at a loopback simulator). Worked out once per request: the page asks twice.

    The selected task is the first one not yet passed (the last task once all are).
    """
    # Kept on the request (not on g, which outlives a request when an app context is held around it).
    if _PANEL_KEY not in request.environ:
        request.environ[_PANEL_KEY] = _panel()
    return request.environ[_PANEL_KEY]


def in_guide(guide_html: str) -> Markup:
    """``guide_html`` with a practice box just above each task's Validate button, so a student practises a
    task where they read it; unchanged when the panel is not offered. The guide is the renderer's
    sanitised output, so only our own Validate widgets match."""
    model = panel()
    if model is None:
        return Markup(guide_html)
    attendee = auth.current_attendee()
    assert attendee is not None  # panel() had one
    task_of = {s.id: s.task for s in labs.pack(attendee.lab_id).steps}
    choices = {c.task: c for c in model.tasks}
    script = _script()

    def box(m: re.Match) -> str:
        choice = choices.get(task_of.get(m.group(1), ""))
        if choice is None:
            return m.group(0)
        return render_template("practice/_task.html", choice=choice, mistakes=script.MISTAKES[choice.task],
                               repair=script.REPAIRS.get(choice.task)) + m.group(0)

    return Markup(_VALIDATION_BLOCK.sub(box, guide_html))


def _panel() -> Panel | None:
    attendee = auth.current_attendee()
    if not current_app.config.get("DEMO") or attendee is None or attendee.lab_id != LAB:
        return None
    if not simulated(attendee):
        return None
    choices = _choices(attendee)
    passed = {s.task for s in progress.attendee(attendee).steps if s.status == "PASS"}
    selected = next((c.task for c in choices if c.task not in passed), choices[-1].task)
    return Panel(choices, selected, _script().MISTAKES[selected])


def _choices(attendee: Attendee) -> list[TaskChoice]:
    titles = {s.task: s.title for s in labs.pack(attendee.lab_id).steps}
    return [TaskChoice(t, f"Task {t}: {titles[t]}" if titles.get(t) else f"Task {t}") for t in _script().TASKS]


def student_for(attendee: Attendee) -> Student:
    """The scripted student acting for ``attendee``: kept per attendee (least recently used dropped), and
    made afresh when their stored credentials changed."""
    creds = attendees.credentials(attendee)
    fingerprint = hashlib.sha256(json.dumps(creds, sort_keys=True, default=str).encode()).hexdigest()
    with _students_guard:
        kept = _students.get(attendee.id)
        if kept is not None and kept[0] == fingerprint:
            _students.move_to_end(attendee.id)
            return kept[1]
    made = _script().Student(creds)  # outside the lock: it builds SDK clients
    with _students_guard:
        _students[attendee.id] = (fingerprint, made)
        _students.move_to_end(attendee.id)
        while len(_students) > STUDENTS_KEPT:
            _students.popitem(last=False)
    return made


@bp.get("/lab/practice/mistakes")
@auth.attendee_required
def mistakes():
    """The ``<option>``s of the mistake select for the chosen task."""
    _practising_attendee()
    task = request.args.get("task", "")
    known = _script().MISTAKES
    if task not in known:
        abort(404)
    return render_template("practice/_mistakes.html", mistakes=known[task])


@bp.post("/lab/practice")
@auth.attendee_required
def do_task():
    attendee = _practising_attendee()
    script = _script()
    if attendee.lab_id != LAB:
        return _outcome("error", "Practice works for the Spot the Flaw lab only.", 404)
    task = request.form.get("task", "")
    mistake = request.form.get("mistake") or None
    if task not in script.TASKS:
        return _outcome("error", "Choose a task from the list, then press Do it.", 422)
    if mistake is not None and mistake not in script.MISTAKES[task]:
        return _outcome("error", f"Task {task} has no such mistake to make. Choose one from the list "
                                 "(or \u201ccorrectly\u201d), then press Do it.", 422)
    lock = _lock_for(attendee.id)
    if not lock.acquire(blocking=False):
        return _outcome("error", "Still doing your previous task. Wait for it to finish, then try again.", 409)
    try:
        done = student_for(attendee).do(task, mistake)
    except script.StudentError as exc:
        # What the scripted student could not do is what a real student could not do either: say which task
        # first. An answer the panel expects, not a failed request (no error in the browser's console).
        return _outcome("error", _not_yet(task, str(exc)), 200)
    except Exception:
        log.exception("practice: task %s (mistake %s) failed for attendee %s", task, mistake, attendee.id)
        return _outcome("error", f"The simulated Azure could not finish Task {task}. Nothing is wrong with "
                                 "your lab: press Do it again, and restart labgrader demo if it keeps failing.", 502)
    finally:
        lock.release()
    return _outcome("done", _sentence(done, task, mistake), 200, task=task, mistake=mistake)


def _not_yet(task: str, reason: str) -> str:
    """ "no Custom Vision project: do Task 2 first" -> "Could not do Task 3.1 (no ... project). Do Task 2 first." """
    found, _, action = reason.partition(": ")
    if not action:
        return f"Could not do Task {task}: {reason}."
    return f"Could not do Task {task} ({found}). {action[:1].upper()}{action[1:]}."


def _sentence(done: str, task: str, mistake: str | None) -> str:
    """ "created Custom Vision 'x' (F0) in eastus" -> "Created Custom Vision 'x' (F0) in eastus." """
    text = done[:1].upper() + done[1:]
    return text if text.endswith(".") else text + "."


def _outcome(kind: str, message: str, status: int, task: str | None = None, mistake: str | None = None):
    body = render_template("practice/_outcome.html", kind=kind, message=message, task=task,
                           mistake=mistake, mistake_text=_script().MISTAKES.get(task or "", {}).get(mistake or ""))
    return body, status


def _lock_for(attendee_id: int) -> threading.Lock:
    with _busy_guard:
        return _busy.setdefault(attendee_id, threading.Lock())
