"""The demo in Chromium: a student's FAIL turned into a PASS through the practice panel, a proctor's grid
that follows a student's validation without a reload, and no serious accessibility violation."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in_proctor

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP6 = "9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66"

pytestmark = pytest.mark.browser


def test_student_fails_task_1_fixes_it_in_the_practice_panel_and_passes(site, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(site.demo.student_link)
    expect(page.get_by_test_id("guide")).to_be_visible()
    badge = page.get_by_test_id(f"badge-{STEP1}")

    page.get_by_test_id(f"validate-{STEP1}").click()
    expect(badge.get_by_test_id("status")).to_have_text("FAIL")
    # The sentence names the resource that is missing, and the hint the name to give it.
    expect(badge.get_by_test_id("message")).to_contain_text("Custom Vision training resource")
    expect(badge.get_by_test_id("hint")).to_contain_text(re.compile(r"customvision-casting-\w+"))

    panel = page.get_by_role("complementary", name="Practice (demo only)")
    expect(panel.get_by_label("Do task")).to_have_value("1")  # the next task not yet passed
    panel.get_by_label("how").select_option(label="correctly")
    panel.get_by_role("button", name="Do it").click()
    done = panel.get_by_test_id("practice-result")
    expect(done).to_have_attribute("data-outcome", "done")
    expect(done).to_contain_text(re.compile(r"Created Custom Vision 'customvision-casting-\w+' \(F0\) in eastus\. "
                                            r"Now press Validate under Task 1 to see what labgrader says\."))

    page.get_by_test_id(f"validate-{STEP1}").click()
    expect(badge.get_by_test_id("status")).to_have_text("PASS")
    expect(badge.get_by_test_id("message")).to_contain_text("is in place")
    expect(page.get_by_test_id("progress-text")).to_have_text(re.compile(r"^1 of \d+$"))


def test_choosing_another_task_offers_its_mistakes(site, new_page):
    from playwright.sync_api import expect

    page = new_page()
    page.goto(site.demo.student_link)
    panel = page.get_by_role("complementary", name="Practice (demo only)")
    panel.get_by_label("Do task").select_option("2")
    how = panel.get_by_label("how")
    expect(how.locator("option")).to_have_count(6)  # correctly + Task 2's five mistakes
    expect(how.locator("option[value=multilabel]")).to_have_text(re.compile("Multilabel instead of Multiclass"))


def test_proctor_grid_follows_a_students_validation_without_reload(site, new_page):
    from playwright.sync_api import expect

    proctor = new_page()
    sign_in_proctor(proctor, site)
    proctor.goto(site.class_url)
    cell = proctor.get_by_test_id("cell-you-6")
    expect(cell).to_have_attribute("data-status", "NOT_STARTED")
    before = cell.inner_text()
    proctor.evaluate("window.lgNoReload = true")  # a reload would lose it

    student = new_page()
    student.goto(site.demo.student_link)
    student.get_by_test_id(f"validate-{STEP6}").click()
    status = student.get_by_test_id(f"badge-{STEP6}").get_by_test_id("status")
    expect(status).to_have_text(re.compile(r"^(FAIL|PASS|PENDING|ERROR)$"))
    seen = status.inner_text()

    expect(cell).not_to_have_text(before)
    expect(cell).to_have_attribute("data-status", seen)
    expect(cell).to_contain_text(seen)
    assert proctor.evaluate("window.lgNoReload") is True


def _serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:160]}" for v in violations
            if v["impact"] in ("serious", "critical")]


def test_student_guide_and_proctor_grid_have_no_serious_accessibility_violations(site, new_page):
    from playwright.sync_api import expect

    student = new_page()
    student.goto(site.demo.student_link)
    expect(student.get_by_test_id("practice-panel")).to_be_visible()
    assert _serious(student) == []

    proctor = new_page()
    sign_in_proctor(proctor, site)
    proctor.goto(site.class_url)
    expect(proctor.get_by_test_id("grid")).to_be_visible()
    assert _serious(proctor) == []
