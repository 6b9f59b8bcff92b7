"""The demo's practice boxes in Chromium: one per task just above its Validate button; while a task runs its
box says so and shows nothing of the previous outcome; "correctly" names what it removes; the menu says
what the student does, never the verdict; and nothing is written to the console on the way.

Each test has an attendee of its own, so doing tasks here changes nothing for the demo's student.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_phone_layout import new_student, violations

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
TASKS = ("1", "2", "3.1", "3.2", "4", "5.1", "5.2", "6")
STEPS = {"1": STEP1, "2": "0b268237-4be0-4453-a6ac-5603f697a1a9", "3.1": "6f1c2a9e-31a4-4c8e-9d6b-0a7d3e5b8c11",
         "3.2": "8a2d4b7c-52e1-4f0a-b3c9-1e6f7a8d9b22", "4": "3c9e5f1a-7b2d-4e8f-a6c0-2d4b6e8f0a33",
         "5.1": "5d0f6a2b-8c3e-4f9a-b7d1-3e5c7f9a1b44", "5.2": "7e1a8b3c-9d4f-4a0b-c8e2-4f6d8a0b2c55",
         "6": "9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66"}

pytestmark = pytest.mark.browser


@pytest.fixture
def watched(new_page):
    """``watched()``: a page, and the list that collects its console errors and uncaught exceptions."""

    def make():
        page = new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        return page, errors

    return make


def box(page, task: str):
    return page.get_by_test_id(f"practice-{task}")


def do(page, task: str, how: str = "") -> str:
    """Choose ``how`` in Task ``task``'s box, press its Do it, and return the outcome once it is there."""
    from playwright.sync_api import expect

    b = box(page, task)
    b.get_by_label(f"Practice (demo only): do Task {task}").select_option(how)
    b.get_by_role("button", name="Do it").click()
    result = b.get_by_test_id("practice-result")
    expect(result).to_be_visible(timeout=30_000)
    return " ".join(result.inner_text().split())


def test_each_task_offers_practice_just_above_its_validate_button(site, watched):
    from playwright.sync_api import expect

    page, errors = watched()
    page.goto(new_student(site, cohort="browser-practice"))
    expect(page.get_by_test_id("guide")).to_be_visible()
    for task in TASKS:
        b = box(page, task)
        expect(b).to_be_visible()
        # The very next thing in the page is the task's own Validate block (its button, its result).
        block = page.locator(f'.lg-validation[data-step="{STEPS[task]}"]')
        assert b.evaluate("b => b.nextElementSibling.dataset.step") == STEPS[task]
        expect(block.get_by_test_id(f"validate-{STEPS[task]}")).to_be_visible()
        gap = block.bounding_box()["y"] - (b.bounding_box()["y"] + b.bounding_box()["height"])
        assert 0 <= gap < 40, f"Task {task}: {gap} px between the practice box and Validate"
        expect(b.get_by_role("button", name="Do it")).to_be_enabled()
    # Practising a task from its box, then validating right below it.
    text = do(page, "1")
    assert re.fullmatch(r"Created Custom Vision 'customvision-casting-\w+' \(F0\) in eastus\. Now press Validate "
                        r"under Task 1 to see what labgrader says\.", text), text
    page.get_by_test_id(f"validate-{STEP1}").click()
    expect(page.get_by_test_id(f"badge-{STEP1}").get_by_test_id("status")).to_have_text("PASS")
    assert violations(page) == []
    assert errors == []


def test_the_previous_outcome_is_cleared_while_working(site, watched):
    from playwright.sync_api import expect

    page, errors = watched()
    page.goto(new_student(site, cohort="browser-practice"))
    first = do(page, "1", "wrong-tier")
    assert first.startswith("Done as chosen (picks the Standard S0 training tier instead of Free F0): ")

    held = []
    page.route("**/lab/practice", lambda route: held.append(route))  # hold the next answer back
    b = box(page, "1")
    b.get_by_label("Practice (demo only): do Task 1").select_option("")
    b.get_by_role("button", name="Do it").click()
    outcome = b.get_by_test_id("practice-outcome-1")
    expect(outcome.get_by_test_id("practice-working")).to_contain_text("Working on it")
    expect(outcome).not_to_contain_text("Done as chosen")
    expect(b.get_by_test_id("practice-result")).to_have_count(0)
    expect(b.get_by_role("button", name="Do it")).to_be_disabled()
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/lab/practice")

    # "Correctly" says what it changed of the mistake, and the working note is gone.
    text = " ".join(b.get_by_test_id("practice-result").inner_text().split())
    assert re.match(r"Moved 'customvision-casting-\w+' from S0 to the Free F0 tier; ", text), text
    expect(outcome.get_by_test_id("practice-working")).to_have_count(0)
    expect(b.get_by_role("button", name="Do it")).to_be_enabled()
    assert errors == []


def test_correctly_names_the_mistaken_resource_it_deletes(site, watched):
    from playwright.sync_api import expect

    page, errors = watched()
    page.goto(new_student(site, cohort="browser-practice"))
    # Before anything exists, "correctly" on a resource with the wrong name: told beforehand, and after.
    expect(box(page, "1").get_by_test_id("practice-repair-1")).to_contain_text(
        "one with the wrong name, kind or region is deleted and then purged")
    do(page, "1", "wrong-name")
    page.get_by_test_id(f"validate-{STEP1}").click()
    expect(page.get_by_test_id(f"badge-{STEP1}").get_by_test_id("status")).to_have_text("FAIL")
    text = do(page, "1")
    assert re.match(r"Deleted and purged 'cv-casting-\w+' \(not the lab's name\); deleted and purged "
                    r"'cv-casting-\w+-Prediction' \(not the lab's name\); created Custom Vision ", text), text
    page.get_by_test_id(f"validate-{STEP1}").click()
    expect(page.get_by_test_id(f"badge-{STEP1}").get_by_test_id("status")).to_have_text("PASS")
    assert errors == []


def test_the_menu_describes_what_the_student_does_not_the_verdict(site, watched):
    from playwright.sync_api import expect

    page, errors = watched()
    page.goto(new_student(site, cohort="browser-practice"))
    for task in TASKS:
        options = box(page, task).locator("select option").all_inner_texts()
        assert options[0] == "correctly"
        for text in options[1:]:
            assert text.startswith("as some students do: "), text
            assert not re.search(r"accept|advice|stray|guide", text, re.I), f"Task {task}: {text!r}"
    quote = box(page, "3.2").locator("option[value=stray-quote]")
    expect(quote).to_have_text("as some students do: types a quotation mark with the tag name: '\u201cDefect'")
    # The panel at the top: choosing a task fetches its choices (no console error), and a task done out of
    # order says which to do first, as an answer rather than a failed request.
    panel = page.get_by_role("complementary", name="Practice (demo only)")
    panel.get_by_label("Do task").select_option("5.1")
    expect(panel.get_by_label("how").locator("option")).to_have_count(2)
    panel.get_by_role("button", name="Do it").click()
    result = panel.get_by_test_id("practice-result")
    expect(result).to_have_attribute("data-outcome", "error")
    expect(result).to_contain_text("Could not do Task 5.1")
    expect(result).to_contain_text("first.")
    assert violations(page) == []
    assert errors == []
