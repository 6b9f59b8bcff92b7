"""The practice panel per task (demo mode): a box just above each task's Validate button, a menu that
says what the student does and never the verdict, and "correctly" that names what it changes of an earlier
mistake. Through the Flask test client against azuresim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from azuresim.student import MISTAKES, REPAIRS, TASKS
from labguide.packs import load_pack
from tests.webapp.test_practice import _split, open_lab, outcome, practice
from tests.webapp.test_student_pages import STEP1, status_of, validate
from webapp.practice import views
from webapp.services import attendees

GUIDE = Path(__file__).resolve().parents[2] / "labguide" / "packs" / "spot-the-flaw" / "guide.md"
# Words that tell the student how labgrader will judge what they are about to do.
VERDICT_WORDS = re.compile(r"accept|advice|\bpass|labgrader|verdict|allowed|\bfine\b|\bok\b", re.I)


@pytest.fixture
def demo_app(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'labgrader.sqlite3'}", AUTO_MIGRATE=True, DEMO=True)
    with app.app_context():
        yield app


@pytest.fixture
def me(demo_app, attendee):
    azure, injects = _split(attendee)
    who = attendees.upsert("spot-the-flaw", "you", cohort="demo", display_name="You", azure=azure, injects=injects)
    # Small uploads keep Task 3 quick; the student is kept per attendee, so the panel uses this one.
    views.student_for(who).counts = {"Non Defective": 30, "Defect": 40}
    return who


def _boxes(html: str) -> list[tuple[str, int]]:
    return [(m.group(1), m.start()) for m in re.finditer(r'data-testid="practice-([\d.]+)"', html)]


def test_every_task_has_its_box_just_above_its_validate_button(demo_app, me):
    html, _ = open_lab(demo_app.test_client(), me)
    pack = load_pack("spot-the-flaw")
    boxes = _boxes(html)
    assert [task for task, _ in boxes] == list(TASKS)
    buttons = [html.index(f'<div class="lg-validation" data-step="{s.id}">') for s in pack.steps]
    for (task, at), spec, button, previous in zip(boxes, pack.steps, buttons, [0, *buttons[:-1]], strict=True):
        assert spec.task == task
        assert previous < at < button, f"the box of Task {task} is not between the previous Validate and its own"
        box = html[at:button]
        # Its own form: the task fixed, a labelled "how" select with that task's choices, its own outcome.
        key = task.replace(".", "-")
        assert f'<input type="hidden" name="task" value="{task}">' in box
        assert f'<label id="lg-practice-label-{key}" for="lg-practice-how-{key}">' in box
        assert re.findall(r'<option value="([a-z-]*)">', box) == ["", *MISTAKES[task]]
        assert f'hx-target="#lg-practice-outcome-{key}"' in box and f'id="lg-practice-outcome-{key}"' in box
        assert 'name="csrf_token"' in box
        assert ('data-testid="practice-repair-' in box) is (task in REPAIRS)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids repeat"


def test_no_box_outside_demo_mode(make_app, tmp_path, attendee):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'plain.sqlite3'}", AUTO_MIGRATE=True)
    with app.app_context():
        azure, injects = _split(attendee)
        who = attendees.upsert("spot-the-flaw", "plain", azure=azure, injects=injects)
        html, _ = open_lab(app.test_client(), who)
    assert "lg-practice" not in html and "practice.js" not in html


def test_the_menu_says_what_the_student_does_never_the_verdict(demo_app, me):
    client = demo_app.test_client()
    open_lab(client, me)
    for task in TASKS:
        html = client.get(f"/lab/practice/mistakes?task={task}").get_data(as_text=True)
        texts = [re.sub(r"\s+", " ", t).strip() for t in re.findall(r"<option[^>]*>(.*?)</option>", html, re.S)]
        assert texts[0] == "correctly"
        for text in texts[1:]:
            assert text.startswith("as some students do: ")
            described = text.removeprefix("as some students do: ")
            assert not VERDICT_WORDS.search(described), f"Task {task}: {described!r} gives the verdict away"
    # The guide has no stray quote for a student to copy: the menu must not say it has.
    assert "\u201cDefect" not in GUIDE.read_text(encoding="utf-8")
    assert all("stray" not in text and "guide" not in text for ms in MISTAKES.values() for text in ms.values())


def test_correctly_names_the_resource_it_deletes_and_purges(demo_app, me):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    assert outcome(practice(client, token, "1", "wrong-name"))[0] == "done"
    kind, text = outcome(practice(client, token, "1"))
    assert kind == "done"
    student = views.student_for(me)
    wrong = f"cv-casting-{student.deployment_id}"
    assert text.startswith(f"Deleted and purged '{wrong}' (not the lab's name); deleted and purged "
                           f"'{wrong}-Prediction' (not the lab's name); created Custom Vision "
                           f"'{student.account_name}' (F0) in eastus.")
    assert status_of(validate(client, token, STEP1).get_data(as_text=True)) == "PASS"


def test_correctly_names_the_tier_it_changes(demo_app, me):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    name = views.student_for(me).account_name
    practice(client, token, "1", "wrong-tier")
    kind, text = outcome(practice(client, token, "1"))
    assert (kind, text.split(". Now")[0]) == (
        "done", f"Moved '{name}' from S0 to the Free F0 tier; Custom Vision '{name}' (F0) in eastus is in place")


def test_correctly_names_the_project_it_replaces_and_the_tag_it_renames(demo_app, me):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    practice(client, token, "1")
    practice(client, token, "2", "object-detection")
    kind, text = outcome(practice(client, token, "2"))
    assert kind == "done" and text.startswith(
        "Deleted Object Detection project 'Casting Defect Detection' (a project's type cannot be changed); "
        "created project 'Casting Defect Detection'")
    practice(client, token, "3.2", "misspelled-tag")
    kind, text = outcome(practice(client, token, "3.2"))
    assert kind == "done" and text.startswith("Renamed tag 'Defects' to 'Defect'; uploaded 40 defective images")


def test_a_task_done_twice_correctly_says_nothing_was_changed(demo_app, me):
    client = demo_app.test_client()
    _, token = open_lab(client, me)
    practice(client, token, "1")
    text = outcome(practice(client, token, "1"))[1]
    assert text.startswith(f"Custom Vision '{views.student_for(me).account_name}' (F0) in eastus is in place.")


def test_the_selected_task_is_labelled_with_the_guides_heading(demo_app, me):
    html, _ = open_lab(demo_app.test_client(), me)
    for spec in load_pack("spot-the-flaw").steps:
        heading = re.search(rf"^#+ Task {re.escape(spec.task)}: (.+)$", GUIDE.read_text(encoding="utf-8"), re.M)
        assert f">Task {spec.task}: {heading.group(1)}</option>" in html
